"""Service windows run their own schedule: reminder, start, end — each exactly once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from commsplan.delivery.hooks import periodic_jobs, run_periodic
from commsplan.delivery.models import OutgoingMessage
from commsplan.extensions import db
from commsplan.notices import services
from commsplan.notices.models import NoticeKind, NoticeStatus, ScheduleEvent
from tests.conftest import POSTGRES_URL
from tests.notices.helpers import at, make_notice, small_plan


def _subjects(session) -> list[str]:  # type: ignore[no-untyped-def]
    return list(session.scalars(select(OutgoingMessage.subject).order_by(OutgoingMessage.id)))


@pytest.fixture
def window(session):  # type: ignore[no-untyped-def]
    plan = small_plan(session)
    # Wednesday 7 January 2026; Tuesday 6 January (trettondedag jul) is a holiday.
    notice = make_notice(
        session,
        NoticeKind.service_window,
        title="Uppgradering",
        starts_at=at("2026-01-07 18:00"),
        ends_at=at("2026-01-07 20:00"),
        service_ids=[plan.journalen.id],
    )
    services.publish(session, notice, None, now=at("2026-01-02 10:00"))
    session.commit()
    return notice


def test_reminder_defaults_to_working_day_before_at_nine(app, window):
    assert services.reminder_at(window, app.config) == at("2026-01-05 09:00")


def test_reminder_minutes_can_be_configured(app, session, window):
    app.config["NOTICE_REMINDER_MINUTES"] = 60
    assert services.reminder_at(window, app.config) == at("2026-01-07 17:00")
    window.reminder_minutes = 30
    assert services.reminder_at(window, app.config) == at("2026-01-07 17:30")


def test_schedule_sends_reminder_start_and_end_exactly_once(session, window):
    assert services.run_schedule(session, at("2026-01-05 08:59")) == []

    assert services.run_schedule(session, at("2026-01-05 09:00")) == [(window.id, "reminder")]
    assert services.run_schedule(session, at("2026-01-05 09:05")) == []

    assert services.run_schedule(session, at("2026-01-07 18:00")) == [(window.id, "started")]
    assert services.run_schedule(session, at("2026-01-07 18:30")) == []

    assert services.run_schedule(session, at("2026-01-07 20:00")) == [(window.id, "ended")]
    assert services.run_schedule(session, at("2026-01-07 20:01")) == []

    session.refresh(window)
    assert window.status is NoticeStatus.closed
    assert _subjects(session) == [
        "Planerat servicefönster: Uppgradering",
        "[Påminnelse] Planerat servicefönster: Uppgradering",
        "[Pågår nu] Planerat servicefönster: Uppgradering",
        "[Avslutat] Planerat servicefönster: Uppgradering",
    ]


def test_a_rerun_that_finds_the_event_taken_sends_nothing(session, window):
    # As if another worker had claimed the reminder a moment earlier.
    session.add(ScheduleEvent(notice_id=window.id, event="reminder", sequence=window.start_version))
    session.commit()
    assert services.run_schedule(session, at("2026-01-05 09:00")) == []
    assert len(_subjects(session)) == 1


def test_worker_missed_the_start_sends_only_the_end(session, window):
    assert services.run_schedule(session, at("2026-01-08 07:00")) == [(window.id, "ended")]


def test_reschedule_notifies_and_reminds_again_for_new_time(session, window):
    services.run_schedule(session, at("2026-01-05 09:00"))
    services.reschedule(
        session,
        window,
        None,
        at("2026-01-14 18:00"),
        at("2026-01-14 20:00"),
        "Flyttat en vecka.",
        now=at("2026-01-05 10:00"),
    )
    session.commit()
    assert _subjects(session)[-1] == "[Ändrad tid] Planerat servicefönster: Uppgradering"

    assert services.run_schedule(session, at("2026-01-07 18:00")) == []  # old start: nothing
    assert services.run_schedule(session, at("2026-01-13 09:00")) == [(window.id, "reminder")]


def test_extending_a_started_window_sends_extended_and_no_second_start(session, window):
    services.run_schedule(session, at("2026-01-07 18:00"))
    services.reschedule(
        session,
        window,
        None,
        window.starts_at,
        at("2026-01-07 22:00"),
        "Tar längre tid.",
        now=at("2026-01-07 19:50"),
    )
    session.commit()
    assert _subjects(session)[-1] == "[Förlängt] Planerat servicefönster: Uppgradering"

    assert services.run_schedule(session, at("2026-01-07 20:30")) == []
    assert services.run_schedule(session, at("2026-01-07 22:00")) == [(window.id, "ended")]


def test_started_window_cannot_move_its_start(session, window):
    with pytest.raises(services.NoticeError) as raised:
        services.reschedule(
            session, window, None, at("2026-01-07 19:00"), at("2026-01-07 22:00"), now=at("2026-01-07 18:30")
        )
    assert raised.value.field == "starts_at"


def test_cancelled_window_is_not_scheduled(session, window):
    services.cancel(session, window, None, "Behövs inte.", now=at("2026-01-03 10:00"))
    session.commit()
    assert services.run_schedule(session, at("2026-01-07 18:00")) == []


def test_schedule_command_and_worker_hook(app, session, runner, window):
    assert "notice-schedule" in periodic_jobs(app)
    # Other features register jobs too (meetings-extend); look at ours only.
    assert run_periodic(app, session, at("2026-01-05 09:00"))["notice-schedule"] == [(window.id, "reminder")]
    result = runner.invoke(args=["commsplan", "schedule"])
    assert result.exit_code == 0, result.output
    # Real time is long after this window: it ends now.
    assert f"Meddelande {window.id}: ended" in result.output


def test_run_schedule_twice_in_a_row_at_same_moment(session, window):
    moment = at("2026-01-07 18:00") + timedelta(minutes=1)
    first = services.run_schedule(session, moment)
    second = services.run_schedule(session, moment)
    assert first == [(window.id, "started")]
    assert second == []


@pytest.mark.skipif(not POSTGRES_URL, reason="concurrent workers share the schedule on PostgreSQL")
def test_two_workers_at_once_send_the_reminder_once(app, session, window):
    barrier = threading.Barrier(4)
    results: list[list[tuple[int, str]]] = []

    def worker() -> None:
        with app.app_context():
            barrier.wait()
            results.append(services.run_schedule(db.session, at("2026-01-05 09:00")))
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(event for result in results for _id, event in result) == ["reminder"]
    assert _subjects(session).count("[Påminnelse] Planerat servicefönster: Uppgradering") == 1


def test_no_reminder_when_published_after_the_reminder_time(session):
    notice = make_notice(
        session,
        NoticeKind.service_window,
        title="Akut fönster",
        starts_at=at("2026-03-10 18:00"),
        ends_at=at("2026-03-10 19:00"),
    )
    services.add_recipient(session, notice, "a@example.org")
    services.publish(session, notice, None, now=at("2026-03-10 12:00"))
    session.commit()
    assert services.run_schedule(session, at("2026-03-10 12:05")) == []
    assert services.run_schedule(session, at("2026-03-10 18:00")) == [(notice.id, "started")]


def test_schedule_renders_mail_outside_a_request_with_csrf_on(app, session, window):
    # The worker has no request: nothing in mail rendering may need a session.
    app.config["WTF_CSRF_ENABLED"] = True
    assert services.run_schedule(session, at("2026-01-05 09:00")) == [(window.id, "reminder")]
