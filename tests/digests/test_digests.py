"""Daily and weekly digests: content, grouping, once per person and period, timing."""

from __future__ import annotations

import threading
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from commsplan.delivery.hooks import run_periodic
from commsplan.delivery.models import OutboxItem, OutgoingMessage
from commsplan.digests import services as digests
from commsplan.digests.models import DigestRound, DigestRun
from commsplan.extensions import db
from commsplan.meetings.models import MeetingSeries, Occurrence
from commsplan.notices import services as notice_services
from commsplan.notices.models import NoticeKind, OutageState, Severity
from commsplan.subscriptions import services as subscriptions
from commsplan.subscriptions.models import Frequency, Subscription
from commsplan.timeutil import STOCKHOLM, utcnow
from tests import factories
from tests.conftest import POSTGRES_URL
from tests.notices.helpers import make_notice, small_plan
from tests.subscriptions.helpers import deliver, link, one_click_path


def _follow(session, contact, service_ids, kinds, frequency):  # type: ignore[no-untyped-def]
    subscriptions.set_subscriptions(
        session, contact, subscriptions.Choices(tuple(service_ids), tuple(kinds), frequency)
    )


def _publish(session, **kwargs):  # type: ignore[no-untyped-def]
    notice = make_notice(session, **kwargs)
    notice_services.publish(session, notice, None)
    session.commit()
    return notice


def _soon() -> datetime:
    return utcnow() + timedelta(minutes=1)


def _count(model) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(model))


def _digest_items():  # type: ignore[no-untyped-def]
    query = select(func.count()).select_from(OutboxItem).join(OutgoingMessage)
    return query.where(OutgoingMessage.source_type == "digest")


@pytest.fixture
def world(app, session):  # type: ignore[no-untyped-def]
    # `deliver` runs the periodic jobs: rounds run only when a test asks for them.
    app.config["DIGESTS_IN_WORKER"] = False
    plan = small_plan(session)
    fan = factories.make_contact(session, name="Digest Läsare", email="fan@example.org")
    _follow(session, fan, [plan.journalen.id], list(NoticeKind), Frequency.daily)
    session.commit()
    return plan, fan


def test_digest_content_and_grouping(session, runner, outbox, world):
    plan, fan = world
    outage = _publish(session, service_ids=[plan.journalen.id], title="Journalen nere")
    notice_services.post_update(session, outage, None, "Felet är hittat.", OutageState.identified)
    _publish(session, kind=NoticeKind.general, service_ids=[plan.journalen.id], title="Nytt om Journalen")
    _publish(
        session, kind=NoticeKind.release, service_ids=[plan.tidbok.id], title="Tidbok 3.0"
    )  # not followed
    window = _publish(session, kind=NoticeKind.service_window, service_ids=[plan.journalen.id])
    deliver(runner)
    # Daily frequency: none of the (high severity) notices reached the fan at once.
    assert outbox.to("fan@example.org") == []
    outbox.clear()
    series = MeetingSeries(
        title="Nätverket Invånartjänster", starts_on=utcnow().date(), start_time=time(10), explicit_dates=[]
    )
    start = utcnow() + timedelta(days=5)
    session.add(
        Occurrence(
            series=series, uid="occ-1", original_start=start, start=start, end=start + timedelta(hours=1)
        )
    )
    session.commit()

    result = digests.run_round(session, Frequency.daily, _soon())
    assert (result.sent, result.empty) == (1, 0)
    deliver(runner)
    (mail,) = outbox.to("fan@example.org")
    assert mail["Subject"] == "Daglig sammanfattning: 3 meddelanden om 1177 e-tjänster"
    assert mail["Message-ID"]
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "Hej Digest Läsare!" in text and "%%" not in text and "%%" not in html
    # Ongoing outages first, then news grouped by e-service, then the next 14 days.
    ongoing, news, upcoming = (
        text.index("Pågående driftstörningar"),
        text.index("Nytt sedan förra sammanfattningen"),
        text.index("De kommande 14 dagarna"),
    )
    assert ongoing < news < upcoming
    assert "-- Journalen --" in text
    assert "Felet är hittat." in text and "Nytt om Journalen" in text
    assert "Tidbok 3.0" not in text
    assert window.title in text[upcoming:] and "Nätverket Invånartjänster" in text[upcoming:]
    assert "<h3>Journalen</h3>" in html
    assert link(mail, "/preferences/")
    assert one_click_path(mail).startswith("/one-click/")
    run = session.scalars(select(DigestRun)).one()
    assert run.message_id is not None and len(run.items) == 4  # publish + update + general + window


def test_runs_twice_sends_once_and_next_covers_only_what_is_new(session, runner, outbox, world):
    plan, fan = world
    _publish(session, service_ids=[plan.journalen.id], title="Första")
    first = runner.invoke(args=["commsplan", "digests", "--period", "daily"])
    assert first.exit_code == 0 and "1 köade" in first.output
    again = runner.invoke(args=["commsplan", "digests", "--period", "daily"])
    assert "redan skickade" in again.output
    # Even without the finished-round marker (a crash just before it) nobody gets a second.
    session.execute(DigestRound.__table__.delete())
    session.commit()
    result = digests.run_round(session, Frequency.daily)
    assert (result.sent, result.skipped) == (0, 1)
    deliver(runner)
    assert len(outbox.to("fan@example.org")) == 1

    _publish(session, service_ids=[plan.journalen.id], title="Andra")
    digests.run_round(session, Frequency.daily, utcnow() + timedelta(days=1))
    deliver(runner)
    text = outbox.to("fan@example.org")[1].get_body(("plain",)).get_content()
    assert "Andra" in text and "Första" not in text[text.index("Nytt sedan") :].split("De kommande")[0]


def test_empty_digest_is_not_sent(session, runner, outbox, world):
    result = digests.run_round(session, Frequency.daily, _soon())
    assert (result.sent, result.empty) == (0, 1)
    assert _count(OutgoingMessage) == 0
    deliver(runner)
    assert outbox.messages == []


def test_crash_midway_sends_the_rest_on_the_next_run(session, runner, outbox, world, monkeypatch):
    plan, fan = world
    other = factories.make_contact(session, name="Annan Läsare", email="other@example.org", language="en")
    _follow(session, other, [plan.journalen.id], [NoticeKind.outage], Frequency.daily)
    session.commit()
    _publish(session, service_ids=[plan.journalen.id])
    real = digests.render
    calls = []

    def crash_on_second(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(digests, "render", crash_on_second)
    now = _soon()
    with pytest.raises(RuntimeError):
        digests.run_round(session, Frequency.daily, now, batch_size=1)
    session.rollback()
    assert _count(DigestRun) == 1 and session.scalar(_digest_items()) == 1  # the first batch, whole
    monkeypatch.setattr(digests, "render", real)
    result = digests.run_round(session, Frequency.daily, now, batch_size=1)
    assert (result.sent, result.skipped) == (1, 1)
    deliver(runner)
    assert len(outbox.to("fan@example.org")) == 1
    (english,) = outbox.to("other@example.org")
    assert english["Subject"] == "Daily digest: 1 notice about the 1177 e-services"


@pytest.mark.skipif(not POSTGRES_URL, reason="concurrent workers need PostgreSQL")
def test_two_workers_at_once_send_each_digest_once(app, session, runner, outbox, world):
    plan, fan = world
    for i in range(30):
        person = factories.make_contact(session, name=f"Läsare {i}", email=f"reader{i}@example.org")
        _follow(session, person, [plan.journalen.id], [NoticeKind.outage], Frequency.daily)
    session.commit()
    _publish(session, service_ids=[plan.journalen.id])
    deliver(runner)  # the immediate mail to the duty recipients
    now = _soon()
    barrier = threading.Barrier(2)
    results = []

    def work() -> None:
        with app.app_context():
            barrier.wait()
            results.append(digests.run_round(db.session, Frequency.daily, now, batch_size=7))
            db.session.remove()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.sent for r in results) == 31
    session.expire_all()
    assert session.scalar(_digest_items()) == 31
    outbox.clear()
    deliver(runner)
    assert sorted(a for e in outbox.envelopes for a in e.rcpt_tos) == sorted(
        ["fan@example.org"] + [f"reader{i}@example.org" for i in range(30)]
    )


def test_role_based_recipient_gets_releases_in_the_digest(session, runner, outbox, world):
    plan, fan = world
    subscriptions.set_role_digest(session, plan.strategist, Frequency.weekly)
    session.commit()
    _publish(session, kind=NoticeKind.release, service_ids=[plan.tidbok.id], title="Tidbok 3.0")
    deliver(runner)
    assert outbox.to("strateg@example.org") == []
    digests.run_round(session, Frequency.weekly, _soon())
    deliver(runner)
    (mail,) = outbox.to("strateg@example.org")
    assert "Tidbok 3.0" in mail.get_body(("plain",)).get_content()
    # Duty digest: no one-click unsubscribe, only the preferences link.
    assert mail["List-Unsubscribe"] is None


def test_worker_runs_due_digests_at_the_configured_local_time(app, session, runner, outbox, world):
    plan, fan = world
    _publish(session, service_ids=[plan.journalen.id])
    tuesday = datetime(2026, 12, 8, 6, 59, tzinfo=STOCKHOLM)  # a Tuesday
    assert digests.due_key(Frequency.daily, tuesday, app.config) is None
    assert digests.due_key(Frequency.daily, tuesday + timedelta(minutes=1), app.config) == "2026-12-08"
    christmas = datetime(2026, 12, 25, 9, 0, tzinfo=STOCKHOLM)
    assert digests.due_key(Frequency.daily, christmas, app.config) is None  # public holiday
    monday = datetime(2026, 12, 7, 7, 0, tzinfo=STOCKHOLM)
    assert digests.due_key(Frequency.weekly, monday - timedelta(minutes=1), app.config) is None
    assert digests.due_key(Frequency.weekly, monday, app.config) == "2026-12-07"
    assert digests.due_key(Frequency.weekly, tuesday, app.config) == "2026-12-07"
    app.config["DIGEST_DAILY_TIME"] = "06:30"
    assert digests.due_key(Frequency.daily, tuesday, app.config) == "2026-12-08"

    now = utcnow()
    local = now.astimezone(STOCKHOLM)
    app.config["DIGEST_DAILY_TIME"] = "00:00"
    app.config["DIGESTS_IN_WORKER"] = True
    results = run_periodic(app, session, now + timedelta(minutes=1))
    if local.weekday() < 5 and digests.is_working_day(local.date()):
        assert results["digests"][0].sent == 1
        # The day's slot has run: a second check (or worker) does not run the job again,
        # and the round itself would send nothing twice.
        assert "digests" not in run_periodic(app, session, now + timedelta(minutes=2))
        assert digests.run_due(session, now + timedelta(minutes=2)) == []
    else:
        assert results["digests"] == []


def test_coordinator_previews_the_next_digest(client, auth, session, world):
    plan, fan = world
    _publish(session, service_ids=[plan.journalen.id], title="Journalen nere")
    auth.login("coordinator")
    page = client.get(f"/digests/preview/{fan.id}?period=daily").get_data(as_text=True)
    assert "Journalen nere" in page and "Daglig sammanfattning" in page
    assert _count(DigestRun) == 0  # a preview records nothing
    empty = client.get(f"/digests/preview/{plan.ops.id}?period=weekly").get_data(as_text=True)
    assert "ingen sammanfattning skickas" in empty
    assert client.get(f"/digests/preview/{fan.id}?period=hourly").status_code == 400
    assert client.get("/digests/preview/99999").status_code == 404


def test_highest_severity_outage_goes_at_once_and_in_the_digest(session, runner, outbox, world):
    plan, fan = world
    _publish(session, service_ids=[plan.journalen.id], severity=Severity.critical, title="Allt nere")
    deliver(runner)
    assert len(outbox.to("fan@example.org")) == 1
    digests.run_round(session, Frequency.daily, _soon())
    deliver(runner)
    assert "Allt nere" in outbox.to("fan@example.org")[1].get_body(("plain",)).get_content()


def test_one_click_in_a_digest_ends_that_period_only(client, session, runner, outbox, world):
    plan, fan = world
    session.add(
        Subscription(
            contact_id=fan.id,
            service_id=plan.tidbok.id,
            notice_kind=NoticeKind.outage,
            frequency=Frequency.weekly,
        )
    )
    session.commit()
    _publish(session, service_ids=[plan.journalen.id])
    digests.run_round(session, Frequency.daily, _soon())
    deliver(runner)
    path = one_click_path(outbox.to("fan@example.org")[0])
    assert client.post(path).status_code == 200
    left = session.scalars(select(Subscription)).all()
    assert [(s.service_id, s.frequency) for s in left] == [(plan.tidbok.id, Frequency.weekly)]
