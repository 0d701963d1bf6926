"""Production mode: refuses unsafe configuration, trusts only the configured proxies,
sends HSTS behind TLS and logs every request as one JSON line."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from commsplan import create_app
from commsplan.config import ConfigurationError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def production_config(app_config, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COMMSPLAN_INSTANCE_PATH", str(tmp_path / "instance"))
    return {**app_config, "ENV": "production", "SECRET_KEY": "production-test-key", "PROXY_HOPS": 1}


def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMSPLAN_")}
    env["COMMSPLAN_INSTANCE_PATH"] = str(tmp_path / "instance")
    env.update(values)
    return env


def test_production_refuses_the_development_database(tmp_path, monkeypatch):
    monkeypatch.setenv("COMMSPLAN_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("COMMSPLAN_ENV", "production")
    monkeypatch.setenv("COMMSPLAN_SECRET_KEY", "k" * 40)
    monkeypatch.delenv("COMMSPLAN_DATABASE_URL", raising=False)
    monkeypatch.delenv("COMMSPLAN_SQLALCHEMY_DATABASE_URI", raising=False)
    with pytest.raises(ConfigurationError, match="COMMSPLAN_DATABASE_URL"):
        create_app()
    monkeypatch.setenv("COMMSPLAN_DATABASE_URL", "sqlite://")
    with pytest.raises(ConfigurationError, match="COMMSPLAN_DATABASE_URL"):
        create_app()


def test_database_url_is_read_from_commsplan_database_url(tmp_path, monkeypatch):
    monkeypatch.setenv("COMMSPLAN_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("COMMSPLAN_ENV", "production")
    monkeypatch.setenv("COMMSPLAN_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("COMMSPLAN_DATABASE_URL", "postgresql+psycopg://commsplan@db.example.org/commsplan")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://commsplan@db.example.org/commsplan"


def test_wsgi_entry_point_exits_non_zero_with_both_problems_named(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=ROOT,
        env=_env(tmp_path, COMMSPLAN_ENV="production"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "COMMSPLAN_SECRET_KEY" in result.stderr
    assert "COMMSPLAN_DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_proxyfix_takes_client_address_and_scheme_from_the_trusted_hop(production_config):
    app = create_app(production_config)
    response = app.test_client().get(
        "/metrics",
        headers={"X-Forwarded-For": "203.0.113.5", "X-Forwarded-Proto": "https"},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    # The visitor's address is the one behind the proxy: not loopback, so no metrics.
    assert response.status_code == 403
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_a_client_cannot_spoof_an_address_past_the_configured_hops(production_config):
    app = create_app(production_config)
    # The client sent "127.0.0.1" itself; the proxy appended the real address.
    response = app.test_client().get(
        "/metrics",
        headers={"X-Forwarded-For": "127.0.0.1, 198.51.100.7"},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    assert response.status_code == 403


def test_without_proxy_hops_forwarded_headers_are_ignored(production_config):
    app = create_app({**production_config, "PROXY_HOPS": 0})
    response = app.test_client().get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in response.headers


def test_no_hsts_over_plain_http_or_outside_production(production_config, app_config):
    plain = create_app(production_config).test_client().get("/healthz", headers={"X-Forwarded-Proto": "http"})
    assert "Strict-Transport-Security" not in plain.headers
    development = create_app({**app_config, "PROXY_HOPS": 1}).test_client()
    assert (
        "Strict-Transport-Security"
        not in development.get("/healthz", headers={"X-Forwarded-Proto": "https"}).headers
    )


def test_request_log_is_one_json_line_with_id_user_route_status_duration(production_config, capsys):
    app = create_app(production_config)
    client = app.test_client()
    capsys.readouterr()
    response = client.get("/healthz", headers={"X-Request-ID": "req-42"})
    assert response.headers["X-Request-ID"] == "req-42"
    client.get("/status")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    requests = [line for line in lines if line.get("logger") == "commsplan.request"]
    first = requests[0]
    assert first["request_id"] == "req-42"
    assert first["route"] == "ops.healthz"
    assert first["status"] == 200
    assert first["method"] == "GET"
    assert first["user_id"] is None
    assert isinstance(first["duration_ms"], float)
    # Without a header the app makes an id and says it.
    assert len(requests[1]["request_id"]) == 32
    assert requests[1]["route"] == "status.status_page"


def test_request_log_names_the_signed_in_user(app_config, session, capsys):
    from tests import factories

    user = factories.make_user(session, email="log@example.org")
    session.commit()
    app = create_app({**app_config, "LOG_JSON": True})
    client = app.test_client()
    client.post("/login", data={"email": "log@example.org", "password": factories.PASSWORD})
    capsys.readouterr()
    client.get("/", headers={"X-Request-ID": "x" * 500 + '"}'})
    line = next(
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"commsplan.request"' in line
    )
    assert line["user_id"] == user.id
    assert line["route"] == "web.index"
    # A request id that is no id (huge, quotes) is replaced, not echoed into logs.
    assert len(line["request_id"]) == 32


def test_json_logging_is_configured_once_however_many_apps(production_config):
    create_app(production_config)
    create_app(production_config)
    handlers = [h for h in logging.getLogger().handlers if getattr(h, "_commsplan_json", False)]
    assert len(handlers) == 1


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("PROXY_HOPS", -1),
        ("PROXY_HOPS", "two"),
        ("METRICS_NETWORKS", "10.0.0.0/33"),
        ("READY_MAX_QUEUE_AGE", 0),
    ],
)
def test_mistyped_ops_settings_stop_the_start(app_config, key, value):
    with pytest.raises(ConfigurationError, match=key):
        create_app({**app_config, key: value})
