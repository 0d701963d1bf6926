"""Each scheduled job runs once per due time, whoever checks and however often."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from commsplan.delivery.hooks import Daily, Every, register_periodic, run_periodic
from commsplan.extensions import db
from commsplan.jobs import services
from commsplan.jobs.models import RunState, ScheduledJob, ScheduledJobRun
from commsplan.jobs.registry import EXTENSION_KEY, registered
from commsplan.jobs.schedules import from_setting
from commsplan.timeutil import STOCKHOLM

NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def calls(app):  # type: ignore[no-untyped-def]
    """Only our counting job is registered: the features' jobs are not under test here."""
    app.extensions[EXTENSION_KEY] = {}
    made: list[datetime] = []

    def job(session: Session, now: datetime) -> int:
        made.append(now)
        return len(made)

    register_periodic(app, "count", job, Every(600))
    return made


def _runs(session: Session) -> list[tuple[str, datetime, RunState]]:
    session.commit()
    return [
        (run.name, run.slot, run.state)
        for run in session.scalars(select(ScheduledJobRun).order_by(ScheduledJobRun.slot))
    ]


def test_a_slot_runs_once_however_often_workers_check(app, session, calls):
    job = registered(app)["count"]
    assert services.run_job(app, session, job, NOON, holder="worker-a").ran
    assert not services.run_job(app, session, job, NOON + timedelta(minutes=3), holder="worker-b").ran
    assert run_periodic(app, session, NOON + timedelta(minutes=9)) == {}
    assert run_periodic(app, session, NOON + timedelta(minutes=10)) == {"count": 2}
    assert calls == [NOON, NOON + timedelta(minutes=10)]
    assert _runs(session) == [
        ("count", NOON, RunState.done),
        ("count", NOON + timedelta(minutes=10), RunState.done),
    ]
    row = session.get(ScheduledJob, "count")
    assert row.holder is None and row.last_ok and row.last_result == "2"


def test_a_lease_held_by_a_dead_worker_keeps_others_out_until_it_runs_out(app, session, calls):
    session.add(ScheduledJob(name="count", holder="dead-host:4711", lease_until=NOON + timedelta(minutes=2)))
    session.commit()
    assert run_periodic(app, session, NOON + timedelta(minutes=1)) == {}
    assert run_periodic(app, session, NOON + timedelta(minutes=3)) == {"count": 1}
    [run] = session.scalars(select(ScheduledJobRun)).all()
    assert run.holder == services.holder_name() and run.slot == NOON


def test_a_failed_run_is_logged_retried_after_a_pause_and_then_recorded(app, session, caplog):
    app.extensions[EXTENSION_KEY] = {}
    attempts: list[datetime] = []

    def flaky(session: Session, now: datetime) -> str:
        attempts.append(now)
        if len(attempts) == 1:
            raise RuntimeError("relay unreachable")
        return "ok"

    register_periodic(app, "flaky", flaky, Every(3600))
    assert run_periodic(app, session, NOON) == {"flaky": None}
    assert "Periodic job flaky failed" in caplog.text
    row = session.get(ScheduledJob, "flaky")
    assert row.last_ok is False and "relay unreachable" in row.last_result and row.holder is None
    assert run_periodic(app, session, NOON + timedelta(seconds=30)) == {}
    assert run_periodic(app, session, NOON + timedelta(seconds=60)) == {"flaky": "ok"}
    [run] = session.scalars(select(ScheduledJobRun)).all()
    session.refresh(run)
    assert (run.state, run.attempts, run.result) == (RunState.done, 2, "ok")


def test_two_workers_checking_at_the_same_moment_run_a_slot_once(app, calls):
    app.extensions[EXTENSION_KEY] = {}

    def slow(session: Session, now: datetime) -> None:
        calls.append(now)
        time.sleep(0.3)

    register_periodic(app, "slow", slow, Every(600))
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        with app.app_context(), Session(db.engine) as own:
            start.wait()
            try:
                services.run_job(app, own, registered(app)["slow"], NOON, holder=name)
            except Exception as error:  # noqa: BLE001 - e.g. SQLite busy: the other one runs it
                errors.append(error)

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert calls == [NOON], errors
    with Session(db.engine) as check:
        assert check.scalars(select(ScheduledJobRun.holder)).all() in (["a"], ["b"])


def test_daily_slots_follow_local_time_across_summer_time():
    schedule = Daily.at("07:00")
    config = {"BABEL_DEFAULT_TIMEZONE": "Europe/Stockholm"}
    # 29 March 2026: summer time starts; 07:00 local is 05:00 UTC that day.
    before = datetime(2026, 3, 29, 6, 59, tzinfo=STOCKHOLM)
    assert schedule.slot(before, config) == datetime(2026, 3, 28, 6, 0, tzinfo=UTC)
    at_seven = datetime(2026, 3, 29, 7, 0, tzinfo=STOCKHOLM)
    assert schedule.slot(at_seven, config) == datetime(2026, 3, 29, 5, 0, tzinfo=UTC)
    after_saturday = schedule.next_after(schedule.slot(before, config), config)
    assert after_saturday == datetime(2026, 3, 29, 5, 0, tzinfo=UTC)
    twice = Daily.at("07:00", "16:30")
    afternoon = datetime(2026, 3, 10, 17, 0, tzinfo=STOCKHOLM)
    assert twice.slot(afternoon, config) == datetime(2026, 3, 10, 15, 30, tzinfo=UTC)
    assert twice.next_after(twice.slot(afternoon, config), config) == datetime(2026, 3, 11, 6, 0, tzinfo=UTC)


def test_interval_slots_are_the_same_in_every_process():
    assert Every(30).slot(datetime(2026, 3, 10, 12, 0, 47, tzinfo=UTC), {}) == datetime(
        2026, 3, 10, 12, 0, 30, tzinfo=UTC
    )
    assert Every(3600).next_after(NOON, {}) == NOON + timedelta(hours=1)


def test_every_feature_job_has_a_schedule_and_config_overrides_it(app):
    jobs = registered(app)
    assert {
        "notice-schedule",
        "digests",
        "meetings-extend",
        "meetings-purge-unconfirmed",
        "subscriptions-prune-sign-ups",
        "audit-retention",
        "feeds-prune-cache",
    } <= set(jobs)
    assert jobs["notice-schedule"].schedule == Every(30)
    app.config["JOB_SCHEDULES"] = {"feeds-prune-cache": 120, "audit-retention": "02:30"}
    jobs = registered(app)
    assert jobs["feeds-prune-cache"].schedule == Every(120)
    assert jobs["audit-retention"].schedule.describe(app.config) == "dagligen 02:30"
    assert from_setting("600") == Every(600)
    with pytest.raises(ValueError):
        from_setting("soon")


def test_jobs_command_shows_last_run_next_due_and_holder(app, session, runner):
    run_periodic(app, session)
    session.add(ScheduledJob(name="gone", holder="x", lease_until=NOON))
    session.execute(
        update(ScheduledJob)
        .where(ScheduledJob.name == "feeds-prune-cache")
        .values(holder="web-2:1234", lease_until=datetime.now(UTC) + timedelta(minutes=5))
    )
    session.commit()
    result = runner.invoke(args=["commsplan", "jobs"])
    assert result.exit_code == 0, result.output
    lines = {line.split(":", 1)[0]: line for line in result.output.splitlines()}
    assert "var 30:e sekund" in lines["notice-schedule"] and "(klar" in lines["notice-schedule"]
    assert "dagligen 07:00" in lines["digests"]
    assert "körs av web-2:1234" in lines["feeds-prune-cache"]
    assert "ledigt" in lines["meetings-extend"] and "nästa nu" not in lines["meetings-extend"]
