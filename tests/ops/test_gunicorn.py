"""The production command from deploy/README.md serves the app: gunicorn with
deploy/gunicorn.conf.py, configured only through the environment."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import _free_port

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")


def _get(port: int, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_gunicorn_with_the_deploy_config_serves_healthz_and_logs_json(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMMSPLAN_", "PROMETHEUS_"))}
    env.update(
        {
            "COMMSPLAN_ENV": "production",
            "COMMSPLAN_SECRET_KEY": "gunicorn-test-key-" + "x" * 30,
            "COMMSPLAN_DATABASE_URL": f"sqlite:///{tmp_path / 'prod.db'}",
            "COMMSPLAN_INSTANCE_PATH": str(tmp_path / "instance"),
            "COMMSPLAN_BIND": f"127.0.0.1:{port}",
            "COMMSPLAN_WORKERS": "2",
            "COMMSPLAN_THREADS": "2",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        }
    )
    flask = GUNICORN.with_name("flask")
    subprocess.run(
        [str(flask), "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    log = (tmp_path / "stdout.log").open("w+")
    server = subprocess.Popen(
        [str(GUNICORN), "-c", "deploy/gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, headers, body = _get(port, "/healthz", {"X-Request-ID": "gunicorn-1"})
                break
            except OSError:
                assert server.poll() is None, (tmp_path / "stdout.log").read_text()
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        assert status == 200
        assert json.loads(body) == {"status": "ok"}
        assert headers["X-Request-ID"] == "gunicorn-1"
        # Request metrics of both workers end up in one scrape (multiprocess mode).
        for _ in range(6):
            _get(port, "/healthz", {})
        _, _, metrics = _get(port, "/metrics", {})
        count_line = next(
            line
            for line in metrics.decode().splitlines()
            if line.startswith("commsplan_http_request_duration_seconds_count")
            and 'route="ops.healthz"' in line
        )
        assert float(count_line.rsplit(" ", 1)[1]) == 7
        assert "commsplan_database_up 1.0" in metrics.decode()
    finally:
        server.terminate()
        server.wait(timeout=30)
    records = []
    for line in (tmp_path / "stdout.log").read_text().splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"not a JSON line: {line!r}") from None
    request = next(r for r in records if r.get("request_id") == "gunicorn-1")
    assert request["route"] == "ops.healthz"
    assert request["status"] == 200
    assert any(r.get("logger") == "gunicorn.error" for r in records)
