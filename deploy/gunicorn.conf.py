"""gunicorn settings for commsplan: ``gunicorn -c deploy/gunicorn.conf.py wsgi:app``.

Every setting comes from the environment, so the systemd unit (or container) decides;
the defaults suit one small VM. See deploy/README.md.

COMMSPLAN_BIND          address to listen on (default 127.0.0.1:8000; nginx in front)
COMMSPLAN_WORKERS       worker processes (default 2 × CPU cores + 1, at most 8)
COMMSPLAN_THREADS       threads per worker (default 4; >1 uses the gthread worker)
COMMSPLAN_TIMEOUT       seconds a request may take before its worker is restarted (30)
COMMSPLAN_GRACEFUL_TIMEOUT  seconds to finish requests on restart/stop (30)
COMMSPLAN_KEEPALIVE     seconds an idle keep-alive connection stays open (5)
COMMSPLAN_MAX_REQUESTS  restart a worker after this many requests (1000; 0 = never)
PROMETHEUS_MULTIPROC_DIR  where workers share request metrics (default: a fresh temp dir)
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


bind = os.environ.get("COMMSPLAN_BIND", "127.0.0.1:8000")
workers = _int("COMMSPLAN_WORKERS", min(2 * multiprocessing.cpu_count() + 1, 8))
threads = _int("COMMSPLAN_THREADS", 4)
worker_class = "gthread" if threads > 1 else "sync"
timeout = _int("COMMSPLAN_TIMEOUT", 30)
graceful_timeout = _int("COMMSPLAN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("COMMSPLAN_KEEPALIVE", 5)
max_requests = _int("COMMSPLAN_MAX_REQUESTS", 1000)
max_requests_jitter = max_requests // 10
# The app is built once in the master: a configuration error (no secret key, no database
# URL in production) stops gunicorn at once with the message, instead of workers that
# fail to boot over and over.
preload_app = True
# The app logs every request as a JSON line itself (request id, user, route, duration).
# gunicorn 27's control socket lives in $HOME or $XDG_RUNTIME_DIR, which the systemd unit
# keeps read-only; systemctl reload (SIGHUP) does what we need from it.
control_socket_disable = True
accesslog = None
errorlog = "-"
# Behind nginx on the same host: trust its X-Forwarded-* only from there. The app's own
# COMMSPLAN_PROXY_HOPS decides how many hops ProxyFix believes.
forwarded_allow_ips = os.environ.get("COMMSPLAN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    },
    "handlers": {
        "stdout": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}
    },
    # The app adds its JSON handler to the root logger (COMMSPLAN_LOG_JSON, on in production).
    "root": {"level": "WARNING", "handlers": []},
    "loggers": {
        "gunicorn.error": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
        # Off: the app's request lines say more (request id, user, route).
        "gunicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
    },
}

# Request latency is measured in every worker; prometheus_client adds the workers' files
# up on each scrape. The directory must exist and be empty before the app is imported.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="commsplan-metrics-")
_metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]
os.makedirs(_metrics_dir, exist_ok=True)
for _entry in os.listdir(_metrics_dir):
    _path = os.path.join(_metrics_dir, _entry)
    if os.path.isdir(_path):
        shutil.rmtree(_path)
    else:
        os.remove(_path)


def post_fork(server, worker):  # type: ignore[no-untyped-def]
    # The master built the app (preload_app); a database connection it opened must not
    # be shared with the forked workers.
    from commsplan.extensions import db

    app = server.app.wsgi()
    with app.app_context():
        db.engine.dispose(close=False)


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
