"""Crash duplicates at the physical minimum: at most one per SMTP connection.

A SIGKILL loop during a fan-out with real worker processes and a real SMTP server (the
CI-sized run of ``bench/crash.py``, which prints the 10,000-recipient figures), and the
rule behind the bound, checked at the server: a mail is recorded as sent before its
connection's next mail can be accepted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from commsplan.delivery.models import DeliveryState, OutboxItem
from commsplan.extensions import db
from tests.conftest import POSTGRES_URL, _free_port
from tests.delivery.conftest import items

ROOT = Path(__file__).resolve().parents[2]
KILLS = 3
CONNECTIONS = 2


def test_sigkilled_workers_lose_nothing_and_duplicate_at_most_one_mail_per_connection(tmp_path):
    command = [sys.executable, str(ROOT / "bench" / "crash.py"), "--json", "--n", "300"]
    command += ["--kills", str(KILLS), "--connections", str(CONNECTIONS), "--batch-size", "10"]
    command += ["--lease", "2", "--timeout", "120"]
    if POSTGRES_URL:
        command += ["--database-url", POSTGRES_URL]
    run = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    summary = json.loads(run.stdout.strip().splitlines()[-1])

    assert summary["queued"] == 300
    assert len(summary["kills"]) == KILLS, "every kill happened mid-fan-out"
    assert all(kill["accepted_before"] < 300 for kill in summary["kills"])
    assert summary["lost"] == 0, summary.get("worker_log")
    assert summary["failed_rows"] == 0 and summary["unknown"] == 0
    assert summary["duplicates"] <= KILLS * CONNECTIONS, summary
    # Every mail accepted but not yet recorded when its worker died is sent again.
    assert summary["duplicates"] >= sum(kill["unrecorded"] for kill in summary["kills"])


class _RecordingHandler:
    """At each mail's final dot, notes how many rows the database already knows as sent."""

    def __init__(self, engine: Any, pipelining: bool) -> None:
        self.engine = engine
        self.pipelining = pipelining
        self.sent_when_accepted: list[int] = []

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]] if self.pipelining else responses

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.engine.connect() as connection:
            sent = connection.scalar(
                select(func.count()).select_from(OutboxItem).where(OutboxItem.state == DeliveryState.sent)
            )
        self.sent_when_accepted.append(sent)
        return "250 OK"


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelining", "lockstep"])
@pytest.mark.parametrize("connections", [1, 3])
def test_each_mail_is_recorded_before_its_connection_may_have_the_next_accepted(
    app, put, drain, connections, pipelining
):
    handler = _RecordingHandler(db.engine, pipelining)
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        app.config["MAIL_PORT"] = controller.port
        put(*[f"p{i}@example.org" for i in range(24)])
        assert drain(connections=connections).sent == 24
    finally:
        controller.stop()
    seen = handler.sent_when_accepted
    assert len(seen) == 24
    # When the k-th mail is accepted, k mails were accepted before it; of those only the
    # last of each *other* connection may still be unrecorded.
    assert all(sent >= k - (connections - 1) for k, sent in enumerate(seen)), seen
    assert all(item.state is DeliveryState.sent for item in items())
