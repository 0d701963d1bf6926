"""Benchmark the pages under gunicorn with a region's data: prints figures, asserts nothing.

Builds the region (tests/regiondata.py: 10,000 contacts, 2,000 notices of which 500 are
open, three years of meetings, 100,000 outbox rows), starts ``gunicorn wsgi:app`` on a
free loopback port and fires requests at each page (one connection per request, as
gunicorn's sync workers close them) with ``wrk`` when it is installed (Debian: ``apt-get
install wrk``; one thread, about 0.1 ms of CPU per request) or else with an asyncio client
in this process (about 0.3 ms per request, on the same two cores as the server); the first
line of figures says which ran, ``--generator`` chooses. For every page it
prints requests/s and p50/p95 at 10 and 50 concurrent clients, and the ratio to the
targets of issue 13 on a 2-core machine:

* p95 under 100 ms at 10 concurrent clients for every coordinator page (ratio = 100 ms /
  p95; 1.0 or more meets it),
* at least 1,000 requests/s for the public /status (ratio = requests/s / 1,000), visited
  without log-in as during an outage rush.

Either client shares the machine's cores with the server, so the figures are a floor; the
load average is printed with them (``uptime``). /readyz and /metrics are measured but not
counted as coordinator pages.

Usage (from the project root):

    .venv/bin/python bench/web.py                       # SQLite in a temporary file
    .venv/bin/python bench/web.py --database postgresql+psycopg://postgres@127.0.0.1:5432/bench
    .venv/bin/python bench/web.py --pages /status /plan/contacts --requests 500 --workers 2

A PostgreSQL database is emptied (drop_all/create_all) first.
"""

from __future__ import annotations

import argparse
import asyncio
import http.cookiejar
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from commsplan import create_app  # noqa: E402
from commsplan.auth.models import Role  # noqa: E402
from commsplan.extensions import db  # noqa: E402
from commsplan.meetings.models import MeetingSeries, Occurrence  # noqa: E402
from commsplan.notices.models import Notice, NoticeStatus  # noqa: E402
from commsplan.plan.models import Contact, Service, StakeholderGroup, Unit  # noqa: E402
from tests import factories  # noqa: E402
from tests.regiondata import RegionSize, build_region  # noqa: E402

PORTS = range(18800, 18900)
P95_TARGET_MS = 100.0
STATUS_TARGET_RPS = 1000.0
EMAIL = "bench-admin@example.org"
# Measured, but for machines (load balancer, Prometheus), not coordinator pages.
OPS_PAGES = ("/readyz", "/metrics")
NOT_PAGES = (".md", ".ics", ".atom", ".csv", ".json", "/static/", "/api/", "/healthz", "/login")


@dataclass
class Result:
    url: str
    clients: int
    requests: int
    errors: int
    seconds: float
    latencies: list[float]
    # Percentiles (share → ms) as wrk reports them; it keeps no list of latencies.
    measured: dict[float, float] | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        if self.measured is not None:
            return self.measured[share]
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))] * 1000


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit("no free port in 18800–18899")


def prepare(url: str) -> dict[str, str]:
    """Empty the database, build the region and pick the pages to measure."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "BASE_URL": "http://bench"})
    with app.app_context():
        db.drop_all()
        db.create_all()
        started = time.perf_counter()
        sizes = build_region(db.session, RegionSize.region())
        factories.make_user(db.session, email=EMAIL, role=Role.admin, password=factories.PASSWORD)
        db.session.commit()
        print(f"database: {db.engine.dialect.name}, built in {time.perf_counter() - started:.1f} s: {sizes}")
        session = db.session

        def first(stmt):  # type: ignore[no-untyped-def]
            return session.scalar(stmt.limit(1))

        notice = first(select(Notice.id).where(Notice.status == NoticeStatus.published).order_by(Notice.id))
        contact = first(select(Contact.id).order_by(Contact.id.desc()))
        pages = {rule.rule: rule.endpoint for rule in app.url_map.iter_rules() if _simple_page(rule)}
        pages |= {
            f"/notices/{notice}": "notices.notice_detail",
            f"/notices/{notice}/recipients": "notices.notice_recipients",
            f"/delivery/notice/{notice}": "delivery.notice_delivery",
            f"/plan/contacts/{contact}": "plan.contact_detail",
            f"/plan/units/{first(select(Unit.id).order_by(Unit.id))}": "plan.unit_detail",
            f"/plan/services/{first(select(Service.id).order_by(Service.id))}": "plan.service_detail",
            f"/plan/stakeholders/{first(select(StakeholderGroup.id))}": "plan.stakeholder_detail",
            f"/meetings/{first(select(MeetingSeries.id).order_by(MeetingSeries.id))}": (
                "meetings.series_detail"
            ),
            f"/meetings/occurrences/{first(select(Occurrence.id).order_by(Occurrence.start.desc()))}": (
                "meetings.occurrence_detail"
            ),
            "/plan/contacts?q=anna": "plan.contact_list (search)",
            "/feeds/?q=lars": "feeds.subscriptions (search)",
            "/subscriptions?q=karin": "subscriptions.subscription_list (search)",
            "/delivery/?page=2": "delivery.overview (page 2)",
        }
        db.engine.dispose()
    return pages


def _simple_page(rule) -> bool:  # type: ignore[no-untyped-def]
    return (
        "GET" in (rule.methods or set())
        and not rule.arguments
        and rule.endpoint != "static"
        and not any(marker in rule.rule for marker in NOT_PAGES)
    )


class Server:
    """``gunicorn wsgi:app`` on loopback, configured through the environment."""

    def __init__(self, url: str, port: int, workers: int, worker_class: str) -> None:
        self.port = port
        env = os.environ | {
            "COMMSPLAN_SQLALCHEMY_DATABASE_URI": url,
            "COMMSPLAN_SECRET_KEY": "bench-secret",
            "COMMSPLAN_BASE_URL": f"http://127.0.0.1:{port}",
            "COMMSPLAN_INSTANCE_PATH": tempfile.mkdtemp(prefix="commsplan-bench-instance-"),
        }
        command = [
            str(Path(sys.executable).parent / "gunicorn"),
            "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers),
            "--worker-class", worker_class,
            "--log-level", "warning",
            "wsgi:app",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, cwd=ROOT, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
                return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise SystemExit("gunicorn did not answer /healthz within 60 s")

    def log_in(self) -> str:
        """The session cookie of the bench's admin (one log-in: the log-in is rate-limited)."""
        base = f"http://127.0.0.1:{self.port}"
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = opener.open(f"{base}/login").read().decode()
        form = {"email": EMAIL, "password": factories.PASSWORD}
        if token := re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page):
            form["csrf_token"] = token.group(1)
        opener.open(f"{base}/login", data=urllib.parse.urlencode(form).encode()).read()
        cookies = "; ".join(f"{c.name}={c.value}" for c in jar)
        if "remember_token" not in cookies and "session=" not in cookies:
            raise SystemExit("log-in failed")
        return cookies

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


async def _get(port: int, path: str, cookie: str) -> tuple[int, float]:
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    headers = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
    if cookie:
        headers += f"Cookie: {cookie}\r\n"
    writer.write((headers + "\r\n").encode())
    await writer.drain()
    status_line = await reader.readline()
    while await reader.read(65536):
        pass
    writer.close()
    status = int(status_line.split()[1]) if status_line else 0
    return status, time.perf_counter() - started


async def _load(port: int, path: str, cookie: str, clients: int, requests: int) -> Result:
    remaining = requests
    latencies: list[float] = []
    errors = 0

    async def client() -> None:
        nonlocal remaining, errors
        while remaining > 0:
            remaining -= 1
            try:
                status, seconds = await _get(port, path, cookie)
            except OSError:
                errors += 1
                continue
            if status != 200:
                errors += 1
            latencies.append(seconds)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return Result(path, clients, len(latencies), errors, time.perf_counter() - started, latencies)


# wrk's report, one line: requests, microseconds, errors, p50 and p95 in microseconds.
WRK_REPORT = """
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format("BENCH %d %d %d %d %d\\n", summary.requests, summary.duration,
    errors.status + errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(95)))
end
"""


def _wrk(port: int, path: str, cookie: str, clients: int, seconds: float) -> Result:
    """wrk (C) for ``seconds``: one thread, so the client takes at most a core's share
    and far less CPU per request than the asyncio client."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_REPORT)
    command = [
        "wrk", "--threads", "1", "--connections", str(clients), "--duration", f"{max(1, round(seconds))}s",
        "--timeout", "10s", "--script", script.name, "--header", "Connection: close",
    ]  # fmt: skip
    if cookie:
        command += ["--header", f"Cookie: {cookie}"]
    try:
        output = subprocess.run(
            [*command, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True
        ).stdout
    finally:
        os.unlink(script.name)
    line = next(line for line in output.splitlines() if line.startswith("BENCH "))
    requests, micros, errors, p50, p95 = (int(value) for value in line.split()[1:])
    return Result(
        path, clients, requests, errors, micros / 1e6, [], measured={0.5: p50 / 1000, 0.95: p95 / 1000}
    )


def measure(
    port: int, path: str, cookie: str, clients: int, requests: int, generator: str, seconds: float
) -> Result:
    asyncio.run(_load(port, path, cookie, clients, min(clients, 5)))  # warm the workers
    if generator == "wrk":
        return _wrk(port, path, cookie, clients, seconds)
    return asyncio.run(_load(port, path, cookie, clients, requests))


def report(result: Result, label: str, public: bool) -> str:
    p50, p95 = result.percentile(0.5), result.percentile(0.95)
    if public:
        target = f"{result.rps / STATUS_TARGET_RPS:5.2f}× of 1,000 req/s"
    elif result.clients == 10:
        target = f"{P95_TARGET_MS / p95 if p95 else 0:5.2f}× of p95 < 100 ms"
    else:
        target = ""
    errors = f"  {result.errors} errors" if result.errors else ""
    return (
        f"{label:46.46} {result.clients:>3} clients {result.rps:8.1f} req/s"
        f"  p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  {target}{errors}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default="", help="SQLAlchemy URL; default: SQLite in a temp dir")
    parser.add_argument("--requests", type=int, default=200, help="requests per page and client count")
    parser.add_argument(
        "--status-requests", type=int, default=3000, help="requests to /status per client count"
    )
    parser.add_argument("--clients", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--pages", nargs="*", help="only these paths (default: every page)")
    parser.add_argument(
        "--generator",
        choices=("auto", "wrk", "asyncio"),
        default="auto",
        help="load generator: wrk when installed (auto), else the asyncio client in this process",
    )
    parser.add_argument("--seconds", type=float, default=3.0, help="wrk: seconds per page and client count")
    parser.add_argument(
        "--status-seconds", type=float, default=5.0, help="wrk: seconds for /status per client count"
    )
    args = parser.parse_args()
    generator = args.generator
    if generator == "auto":
        generator = "wrk" if shutil.which("wrk") else "asyncio"
    elif generator == "wrk" and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")

    url = args.database or f"sqlite:///{tempfile.mkdtemp(prefix='commsplan-bench-')}/web.db"
    pages = prepare(url)
    if args.pages:
        pages = {path: pages.get(path, path) for path in args.pages}
    port = free_port()
    server = Server(url, port, args.workers, args.worker_class)
    try:
        cookie = server.log_in()
        print(f"gunicorn: {args.workers} {args.worker_class} workers on port {port}")
        where = " (1 thread)" if generator == "wrk" else " (in this process)"
        print(f"load generator: {generator}{where}")
        print("load before:", os.getloadavg())
        worst: list[tuple[float, str]] = []
        for path, endpoint in sorted(pages.items(), key=lambda item: item[0]):
            public = path == "/status"
            for clients in args.clients:
                count = args.status_requests if public else args.requests
                seconds = args.status_seconds if public else args.seconds
                result = measure(port, path, "" if public else cookie, clients, count, generator, seconds)
                print(report(result, f"{path} ({endpoint})", public), flush=True)
                if clients == 10 and not public and path not in OPS_PAGES:
                    worst.append((result.percentile(0.95), path))
        worst.sort(reverse=True)
        if worst:
            print("slowest p95 at 10 clients:", ", ".join(f"{p} {ms:.0f} ms" for ms, p in worst[:5]))
            met = sum(1 for ms, _ in worst if ms < P95_TARGET_MS)
            print(f"coordinator pages under 100 ms p95 at 10 clients: {met} of {len(worst)}")
        print("load after:", os.getloadavg(), "cores:", os.cpu_count())
    finally:
        server.stop()


if __name__ == "__main__":
    main()
