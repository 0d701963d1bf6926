"""Two real ``flask commsplan worker`` processes on one database: every scheduled job
runs once per due time, and people get one digest and one reminder each."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from commsplan.delivery.models import OutboxItem, OutgoingMessage
from commsplan.digests import services as digests
from commsplan.jobs.models import RunState, ScheduledJobRun
from commsplan.jobs.registry import registered
from commsplan.notices import services as notices
from commsplan.notices.models import NoticeKind
from commsplan.subscriptions import services as subscriptions
from commsplan.subscriptions.models import Frequency
from commsplan.timeutil import STOCKHOLM, utcnow
from tests import factories
from tests.notices.helpers import make_notice, small_plan

PROJECT = Path(__file__).resolve().parents[2]
RAN = re.compile(r"^Jobb (\S+) för (\S+): klart$", re.MULTILINE)
READERS = 12


def _start_worker(app: Flask, tmp_path: Path, name: str, digest_time: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "COMMSPLAN_SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "COMMSPLAN_SECRET_KEY": "test-secret",
        "COMMSPLAN_MAIL_SERVER": "127.0.0.1",
        "COMMSPLAN_MAIL_PORT": str(app.config["MAIL_PORT"]),
        "COMMSPLAN_INSTANCE_PATH": str(tmp_path / f"instance-{name}"),
        "COMMSPLAN_BASE_URL": "https://commsplan.example.org",
        "COMMSPLAN_DIGEST_DAILY_TIME": digest_time,
        "PYTHONUNBUFFERED": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "commsplan", "worker", "--poll", "0.2"],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for(condition, timeout: float = 60.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_two_workers_run_each_job_once_per_due_time(app, session, outbox, tmp_path):
    plan = small_plan(session)
    readers = [f"reader{i}@example.org" for i in range(READERS)]
    for address in readers:
        person = factories.make_contact(session, name=address, email=address)
        subscriptions.set_subscriptions(
            session,
            person,
            subscriptions.Choices((plan.journalen.id,), (NoticeKind.outage,), Frequency.daily),
        )
    now = utcnow().replace(microsecond=0)
    outage = make_notice(session, service_ids=[plan.journalen.id], title="Journalen nere")
    notices.publish(session, outage, None)
    # A service window whose reminder fell due five minutes ago.
    window = make_notice(
        session,
        NoticeKind.service_window,
        title="Uppgradering",
        starts_at=now + timedelta(hours=2),
        ends_at=now + timedelta(hours=3),
        service_ids=[plan.journalen.id],
    )
    window.reminder_minutes = 125
    notices.add_recipient(session, window, "reminded@example.org")
    notices.publish(session, window, None, now=now - timedelta(hours=1))
    session.commit()

    # The daily digest fell due a minute ago (in local time).
    digest_time = (now.astimezone(STOCKHOLM) - timedelta(minutes=1)).strftime("%H:%M")
    digest_due = digests.due_key(Frequency.daily, now, {**app.config, "DIGEST_DAILY_TIME": digest_time})
    jobs = set(registered(app))

    def all_jobs_done() -> bool:
        session.expire_all()
        done = session.scalars(select(ScheduledJobRun.name).where(ScheduledJobRun.state == RunState.done))
        return jobs <= set(done)

    def queue_empty() -> bool:
        unsent = select(func.count()).select_from(OutboxItem).where(OutboxItem.sent_at.is_(None))
        return not session.scalar(unsent)

    workers = [_start_worker(app, tmp_path, name, digest_time) for name in ("one", "two")]
    try:
        assert _wait_for(all_jobs_done), "the workers did not run every job"
        assert _wait_for(queue_empty), "the workers did not send the queue"
        time.sleep(2)  # room for a duplicate run or mail to show up
    finally:
        outputs = []
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
            outputs.append(worker.communicate(timeout=30)[0])
    assert [w.returncode for w in workers] == [0, 0], outputs

    # Each job ran once per due time, counted from what the two processes said they ran …
    ran = Counter(match for output in outputs for match in RAN.findall(output))
    assert ran and set(ran.values()) == {1}, outputs
    assert {name for name, _slot in ran} == jobs
    # … and from the job table: one finished run per job and slot, nothing left leased.
    session.expire_all()
    rows = session.scalars(select(ScheduledJobRun)).all()
    assert Counter((r.name, r.slot.isoformat()) for r in rows) == ran
    assert {r.state for r in rows} == {RunState.done}

    delivered = Counter(address for envelope in outbox.envelopes for address in envelope.rcpt_tos)
    reminded = Counter(
        address
        for message, envelope in zip(outbox.messages, outbox.envelopes, strict=True)
        if message["Subject"].startswith("[Påminnelse]")
        for address in envelope.rcpt_tos
    )
    assert "reminded@example.org" in reminded, "no reminder was sent"
    assert set(reminded.values()) == {1}
    digest = (
        select(OutboxItem.to_address).join(OutgoingMessage).where(OutgoingMessage.source_type == "digest")
    )
    digest_addresses = session.scalars(digest).all()
    if digest_due is None:  # a weekend or public holiday: no daily digest today
        assert digest_addresses == []
    else:
        assert sorted(digest_addresses) == sorted(readers)
        # Readers follow only daily digests: exactly one mail each.
        assert {address: delivered[address] for address in readers} == dict.fromkeys(readers, 1)
