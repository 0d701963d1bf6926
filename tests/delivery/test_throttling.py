"""Throttling to the relay's limits, and urgent mail first.

Rates are checked at the SMTP server by the times it accepted each mail, with a
generous tolerance: the assertion is that we are never faster than the limit.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select

from commsplan.delivery.models import DeliveryDay, DeliveryState, OutboxItem
from commsplan.delivery.worker import Deliverer
from commsplan.extensions import db
from commsplan.timeutil import utcnow
from tests.delivery.conftest import items


def _span(outbox) -> float:
    return max(outbox.accepted_at) - min(outbox.accepted_at)


def test_rate_per_connection_spaces_each_connections_mails(app, put, drain, outbox):
    app.config["DELIVERY_RATE_PER_CONNECTION"] = 240  # one every 0.25 s per connection
    put(*[f"p{i}@example.org" for i in range(6)])
    result = drain(connections=2)
    assert result.sent == 6
    # Two connections of three mails each: at least two intervals for the slower one.
    assert _span(outbox) >= 2 * 0.25 * 0.8


def test_rate_per_worker_holds_across_its_connections(app, put, drain, outbox):
    app.config["DELIVERY_RATE_PER_WORKER"] = 300  # one every 0.2 s for the whole worker
    put(*[f"p{i}@example.org" for i in range(6)])
    result = drain(connections=3)
    assert result.sent == 6
    assert _span(outbox) >= 5 * 0.2 * 0.8


def test_rate_limit_carries_over_between_rounds_of_one_worker(app, put, outbox):
    app.config["DELIVERY_RATE_PER_WORKER"] = 300
    deliverer = Deliverer.from_app(app, connections=1)
    put("a@example.org", "b@example.org")
    assert deliverer.drain().sent == 2
    put("c@example.org", "d@example.org")
    assert deliverer.drain().sent == 2
    assert _span(outbox) >= 3 * 0.2 * 0.8


def test_a_queued_outage_goes_before_queued_digests(app, put, drain, outbox):
    put(*[f"digest{i}@example.org" for i in range(8)], kind="digest_weekly", subject="Veckosammanfattning")
    put("reader@example.org", kind="registration_confirm", subject="Bekräfta")
    put("outage@example.org", kind="notice", subject="Driftstörning: Journalen")
    drain(connections=1, batch_size=4)
    order = [e.rcpt_tos[0] for e in outbox.envelopes]
    assert order[0] == "outage@example.org"
    assert order[1] == "reader@example.org"
    assert order[2:] == [f"digest{i}@example.org" for i in range(8)], "digests keep their own order"


def test_a_new_outage_overtakes_a_slow_digest_fan_out(app, put, outbox):
    """Under a rate limit the digests are still queued when the outage arrives."""
    app.config["DELIVERY_RATE_PER_WORKER"] = 600  # 0.1 s apart
    put(*[f"digest{i}@example.org" for i in range(30)], kind="digest_daily", subject="Dagens sammanfattning")
    deliverer = Deliverer.from_app(app, connections=1, batch_size=2)
    stop = threading.Event()
    worker = threading.Thread(target=deliverer.drain, args=(stop,))
    worker.start()
    while len(outbox.envelopes) < 3:
        threading.Event().wait(0.02)
    put("outage@example.org", kind="notice", subject="Driftstörning: Journalen")
    worker.join(timeout=30)
    order = [e.rcpt_tos[0] for e in outbox.envelopes]
    assert len(order) == 31
    # Claimed at most two batches ahead of the senders: the outage waits for those only.
    assert order.index("outage@example.org") <= 3 + 2 * 2 + 1


def _claimed_today() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.coalesce(func.sum(DeliveryDay.claimed), 0))) or 0


def test_max_per_day_is_shared_by_all_workers_and_resets_the_next_day(app, put, drain, outbox):
    app.config["DELIVERY_MAX_PER_DAY"] = 3
    message = put(*[f"p{i}@example.org" for i in range(5)])
    assert drain().sent == 3
    other = Deliverer.from_app(app, name="other-worker")
    assert other.drain().sent == 0, "the quota is the day's, not one worker's"
    assert [r.state for r in items(message)].count(DeliveryState.queued) == 2
    assert len(outbox.messages) == 3
    tomorrow = utcnow() + timedelta(days=1)
    assert drain(at=tomorrow).sent == 2
    assert len(outbox.messages) == 5


def test_rows_handed_back_unsent_give_their_quota_back(app, put):
    app.config["DELIVERY_MAX_PER_DAY"] = 10
    put(*[f"p{i}@example.org" for i in range(4)])
    stop = threading.Event()
    stop.set()  # stopping before anything is sent: every claimed row is handed back
    result = Deliverer.from_app(app, connections=1).drain(stop)
    assert result.sent == 0
    assert _claimed_today() == 0
    db.session.expire_all()
    assert {r.state for r in db.session.scalars(select(OutboxItem))} == {DeliveryState.queued}
