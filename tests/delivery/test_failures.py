"""Retries, permanent failures, a dead worker's claim, and several workers at once."""

from __future__ import annotations

import socket
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from commsplan.delivery.models import DeliveryState, OutboxItem
from commsplan.delivery.worker import Deliverer
from commsplan.extensions import db
from commsplan.timeutil import utcnow
from tests.delivery.conftest import items


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_421_is_retried_later_with_backoff_then_sent(put, drain, outbox):
    message = put("a@example.org")
    outbox.scripted_replies = ["421 4.3.2 Försök senare"]
    before = utcnow()

    result = drain()

    assert result.retrying == 1 and outbox.messages == []
    [row] = items(message)
    assert row.state is DeliveryState.retrying
    assert row.attempts == 1
    assert "421" in row.last_error and "Försök senare" in row.last_error
    # base 30 s with 50–100 % jitter
    assert before + timedelta(seconds=14) < row.next_attempt_at < utcnow() + timedelta(seconds=31)

    assert drain().claimed == 0, "not due yet"
    result = drain(at=row.next_attempt_at + timedelta(seconds=1))

    assert result.sent == 1
    [row] = items(message)
    assert row.state is DeliveryState.sent and row.attempts == 2 and row.last_error == ""
    assert len(outbox.to("a@example.org")) == 1


def test_backoff_grows_exponentially(put, drain, outbox):
    message = put("a@example.org")
    delays = []
    now = utcnow()
    for _ in range(4):
        outbox.scripted_replies = ["451 4.3.0 Temporärt fel"]
        drain(at=now)
        [row] = items(message)
        delays.append((row.next_attempt_at - now).total_seconds())
        now = row.next_attempt_at + timedelta(seconds=1)
    assert (
        15 <= delays[0] <= 30 and 30 <= delays[1] <= 60 and 60 <= delays[2] <= 120 and 120 <= delays[3] <= 240
    )


def test_550_marks_failed_with_the_servers_answer(put, drain, outbox):
    message = put("gone@example.org", "ok@example.org")
    outbox.scripted_replies = ["550 5.1.1 Mottagaren finns inte"]

    result = drain()

    assert result.failed == 1 and result.sent == 1
    gone, ok = items(message)
    assert gone.state is DeliveryState.failed
    assert gone.last_error == "550 5.1.1 Mottagaren finns inte"
    assert gone.next_attempt_at is None
    assert ok.state is DeliveryState.sent
    assert [e.rcpt_tos for e in outbox.envelopes] == [["ok@example.org"]]
    assert drain().claimed == 0


def test_connection_refused_is_retried_later(app, put, drain, outbox):
    message = put("a@example.org", "b@example.org")
    app.config["MAIL_PORT"] = _closed_port()

    result = drain()

    assert result.connection_failed and result.retrying == 2
    for row in items(message):
        assert row.state is DeliveryState.retrying
        assert row.next_attempt_at > utcnow()
        assert "tog inte emot anslutningen" in row.last_error


def test_gives_up_after_max_attempts(app, put, drain, outbox):
    app.config["DELIVERY_MAX_ATTEMPTS"] = 2
    message = put("a@example.org")
    outbox.scripted_replies = ["421 a", "421 b"]
    drain()
    [row] = items(message)
    drain(at=row.next_attempt_at)
    [row] = items(message)
    assert row.state is DeliveryState.failed
    assert row.attempts == 2
    assert "Gav upp efter 2 försök" in row.last_error and "421 b" in row.last_error


def test_worker_killed_between_claim_and_send_loses_nothing(app, put, drain, outbox):
    message = put("a@example.org", "b@example.org")
    dead = Deliverer.from_app(app, name="dead-worker")
    with db.session.no_autoflush:
        claimed = dead.claim(db.session, "dead-worker/0")
    assert len(claimed) == 2
    # ... and the process dies here, before sending.
    assert {r.state for r in items(message)} == {DeliveryState.sending}

    assert drain().claimed == 0, "the claim is still within its lease"
    lease = timedelta(seconds=app.config["DELIVERY_LEASE_SECONDS"])
    result = drain(at=utcnow() + lease + timedelta(seconds=1))

    assert result.sent == 2
    assert sorted(e.rcpt_tos[0] for e in outbox.envelopes) == ["a@example.org", "b@example.org"]
    assert {r.state for r in items(message)} == {DeliveryState.sent}
    assert drain(at=utcnow() + 2 * lease).claimed == 0
    assert len(outbox.messages) == 2, "sent exactly once"


def test_a_worker_that_outlived_its_lease_cannot_overwrite_the_new_owner(app, put, drain, outbox):
    message = put("a@example.org")
    slow = Deliverer.from_app(app, name="slow")
    [claimed] = slow.claim(db.session, "slow/0")
    lease = timedelta(seconds=app.config["DELIVERY_LEASE_SECONDS"])
    drain(at=utcnow() + lease + timedelta(seconds=1))
    # The slow worker finally reports a failure for the row it no longer owns.
    from commsplan.delivery.worker import _Outcome

    slow._record(db.session, "slow/0", _Outcome(failed=[(claimed.id, "550 late")]))
    [row] = items(message)
    assert row.state is DeliveryState.sent and row.last_error == ""


def test_several_sender_threads_send_each_row_once(app, drain, outbox, put):
    put(*[f"p{i}@example.org" for i in range(40)])
    result = drain(connections=3, batch_size=5)
    assert result.sent == 40
    assert sorted(e.rcpt_tos[0] for e in outbox.envelopes) == sorted(f"p{i}@example.org" for i in range(40))


def _on_postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


def test_skip_locked_claims_never_overlap_on_postgresql(app, put):
    if not _on_postgresql():
        pytest.skip("SKIP LOCKED is a PostgreSQL feature; SQLite runs one worker")
    put(*[f"p{i}@example.org" for i in range(10)])
    first, second = Deliverer.from_app(app, name="one"), Deliverer.from_app(app, name="two")
    with db.engine.connect() as blocker:
        # Another worker is in the middle of its claim transaction, holding rows 1–4.
        locked = (
            blocker.execute(select(OutboxItem.id).order_by(OutboxItem.id).limit(4).with_for_update())
            .scalars()
            .all()
        )
        from sqlalchemy.orm import Session

        with Session(db.engine) as session:
            got = [c.id for c in second.claim(session, "two/0", limit=10)]
        blocker.rollback()
    assert len(locked) == 4 and set(got).isdisjoint(locked) and len(got) == 6
    with Session(db.engine) as session:
        rest = [c.id for c in first.claim(session, "one/0", limit=10)]
    assert sorted(rest) == sorted(locked)


def test_two_workers_on_postgresql_never_send_the_same_row_twice(app, put, outbox):
    if not _on_postgresql():
        pytest.skip("several workers share the queue on PostgreSQL only")
    addresses = [f"p{i}@example.org" for i in range(120)]
    put(*addresses)
    workers = [Deliverer.from_app(app, name=f"w{i}", connections=2, batch_size=7) for i in range(2)]
    results = []
    threads = [threading.Thread(target=lambda w=w: results.append(w.drain())) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.sent for r in results) == 120
    assert all(r.sent > 0 for r in results), "both workers took part"
    assert sorted(e.rcpt_tos[0] for e in outbox.envelopes) == sorted(addresses)
    assert len({m["Message-ID"] for m in outbox.messages}) == 120
    db.session.expire_all()
    assert {r.state for r in db.session.scalars(select(OutboxItem))} == {DeliveryState.sent}
