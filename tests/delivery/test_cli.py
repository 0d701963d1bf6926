"""``flask commsplan deliver`` and the long-running ``flask commsplan worker``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from commsplan.delivery.models import DeliveryState, OutboxItem
from commsplan.extensions import db
from tests.delivery.conftest import items

PROJECT = Path(__file__).resolve().parents[2]


def test_deliver_drains_the_queue_and_says_what_it_did(put, runner, outbox):
    message = put("a@example.org", "b@example.org")
    result = runner.invoke(args=["commsplan", "deliver"])
    assert result.exit_code == 0, result.output
    assert "Skickade 2" in result.output
    assert len(outbox.messages) == 2
    assert {r.state for r in items(message)} == {DeliveryState.sent}
    again = runner.invoke(args=["commsplan", "deliver"])
    assert "Skickade 0" in again.output and len(outbox.messages) == 2


def _worker(app: Flask, tmp_path: Path, *extra: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "COMMSPLAN_SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "COMMSPLAN_SECRET_KEY": "test-secret",
        "COMMSPLAN_MAIL_SERVER": "127.0.0.1",
        "COMMSPLAN_MAIL_PORT": str(app.config["MAIL_PORT"]),
        "COMMSPLAN_INSTANCE_PATH": str(tmp_path / "worker-instance"),
        "COMMSPLAN_BASE_URL": "https://commsplan.example.org",
        "PYTHONUNBUFFERED": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "commsplan", "worker", "--poll", "0.2", *extra],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for(condition, timeout: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_worker_sends_what_is_queued_while_it_runs_and_stops_on_sigterm(app, put, outbox, tmp_path):
    worker = _worker(app, tmp_path)
    try:
        put("a@example.org", "b@example.org", "c@example.org")
        assert _wait_for(lambda: len(outbox.messages) == 3), "worker did not send"
        put("d@example.org")
        assert _wait_for(lambda: len(outbox.messages) == 4), "worker stopped polling"
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=20)
    assert worker.returncode == 0, output
    assert "Avslutar." in output


def test_sigterm_finishes_the_mail_in_flight_and_leaves_the_rest_queued(app, put, outbox, tmp_path):
    addresses = [f"p{i}@example.org" for i in range(300)]
    put(*addresses)
    worker = _worker(app, tmp_path, "--connections", "2")
    try:
        assert _wait_for(lambda: len(outbox.messages) >= 5), "worker did not start sending"
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, output
    db.session.expire_all()
    by_state = dict(
        db.session.execute(select(OutboxItem.state, func.count()).group_by(OutboxItem.state)).all()
    )
    assert DeliveryState.sending not in by_state, "nothing left claimed"
    assert by_state.get(DeliveryState.sent, 0) == len(outbox.messages), "every sent row was recorded"
    assert by_state.get(DeliveryState.queued, 0) == 300 - len(outbox.messages) > 0
    recipients = [e.rcpt_tos[0] for e in outbox.envelopes]
    assert len(recipients) == len(set(recipients))
