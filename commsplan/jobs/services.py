"""Run the due jobs, each once per slot across every worker process.

For each job whose current slot has no finished run, a worker:

1. takes the job's lease with one conditional UPDATE (free, or expired after a crash)
   and commits: only one process at a time gets past this, on PostgreSQL and SQLite alike;
2. under the lease, looks at the slot's run row again (another worker may have finished
   it meanwhile), marks it ``running`` and commits;
3. runs the job, then records the outcome and releases the lease in one commit.

A worker that dies while it holds the lease blocks the job until ``lease_until``; the
slot is then run by the next worker (at least once; the jobs are idempotent themselves).
A failed run is retried after ``JOB_RETRY_SECONDS`` while its slot is current. Times come
from the workers' clocks, which must agree (NTP).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from commsplan.jobs.models import RunState, ScheduledJob, ScheduledJobRun
from commsplan.jobs.registry import Job, registered
from commsplan.timeutil import utcnow


def holder_name() -> str:
    """Who holds a lease: host and process, as an operator finds it in ``ps``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _summary(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple | set | dict):
        return f"{len(value)} st"
    return str(value)[:500]


def _ensure_row(session: Session, name: str) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(ScheduledJob).values(name=name).on_conflict_do_nothing(index_elements=["name"]))
    session.commit()


def _take_lease(session: Session, job: Job, holder: str, now: datetime) -> bool:
    taken = session.execute(
        update(ScheduledJob)
        .where(
            ScheduledJob.name == job.name,
            or_(ScheduledJob.holder.is_(None), ScheduledJob.lease_until < now),
        )
        .values(holder=holder, lease_until=now + timedelta(seconds=job.lease_seconds))
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return taken.rowcount == 1


def _release(session: Session, name: str, holder: str, **values: Any) -> None:
    session.execute(
        update(ScheduledJob)
        .where(ScheduledJob.name == name, ScheduledJob.holder == holder)
        .values(holder=None, lease_until=None, **values)
        .execution_options(synchronize_session=False)
    )


def _slot_open(run: ScheduledJobRun | None, now: datetime, retry_seconds: int) -> bool:
    """Whether this slot still needs a run (none yet, or a failed one due for a retry)."""
    if run is None:
        return True
    if run.state is RunState.failed:
        return run.started_at + timedelta(seconds=retry_seconds) <= now
    # ``running`` under an expired lease: its worker died; the lease was ours to take.
    return run.state is RunState.running


def _slot_run(session: Session, name: str, slot: datetime) -> ScheduledJobRun | None:
    return session.scalar(
        select(ScheduledJobRun).where(ScheduledJobRun.name == name, ScheduledJobRun.slot == slot)
    )


@dataclass(frozen=True)
class Outcome:
    ran: bool
    slot: datetime
    value: Any = None


def run_job(app: Flask, session: Session, job: Job, now: datetime, holder: str | None = None) -> Outcome:
    """Run ``job`` for its current slot unless another worker has or is doing so."""
    holder = holder or holder_name()
    config = app.config
    retry = int(config["JOB_RETRY_SECONDS"])
    slot = job.schedule.slot(now, config)
    session.commit()
    # Cheap read first: most checks find the slot done and write nothing.
    if not _slot_open(_slot_run(session, job.name, slot), now, retry):
        session.commit()
        return Outcome(False, slot)
    session.commit()
    _ensure_row(session, job.name)
    if not _take_lease(session, job, holder, now):
        return Outcome(False, slot)
    run = _slot_run(session, job.name, slot)
    if not _slot_open(run, now, retry):
        _release(session, job.name, holder)
        session.commit()
        return Outcome(False, slot)
    if run is None:
        run = ScheduledJobRun(name=job.name, slot=slot, state=RunState.running, holder=holder, started_at=now)
        session.add(run)
    else:
        run.state, run.holder, run.started_at, run.finished_at = RunState.running, holder, now, None
        run.attempts += 1
    session.execute(
        update(ScheduledJob).where(ScheduledJob.name == job.name).values(last_slot=slot, last_started_at=now)
    )
    session.commit()
    run_id = run.id
    try:
        value = job.run(session, now)
    except Exception as error:
        session.rollback()
        app.logger.exception("Periodic job %s failed", job.name)
        _finish(session, job.name, holder, run_id, RunState.failed, f"{type(error).__name__}: {error}"[:500])
        raise
    _finish(session, job.name, holder, run_id, RunState.done, _summary(value))
    _forget_old_runs(session, job.name, now, int(config["JOB_HISTORY_DAYS"]))
    return Outcome(True, slot, value)


def _finish(session: Session, name: str, holder: str, run_id: int, state: RunState, result: str) -> None:
    finished = utcnow()
    session.execute(
        update(ScheduledJobRun)
        .where(ScheduledJobRun.id == run_id)
        .values(state=state, finished_at=finished, result=result)
        .execution_options(synchronize_session=False)
    )
    ok = state is RunState.done
    _release(session, name, holder, last_finished_at=finished, last_ok=ok, last_result=result)
    session.commit()


def _forget_old_runs(session: Session, name: str, now: datetime, days: int) -> None:
    session.execute(
        delete(ScheduledJobRun)
        .where(ScheduledJobRun.name == name, ScheduledJobRun.slot < now - timedelta(days=days))
        .execution_options(synchronize_session=False)
    )
    session.commit()


@dataclass(frozen=True)
class Ran:
    name: str
    slot: datetime
    ok: bool
    value: Any


def run_due_jobs(app: Flask, session: Session, now: datetime | None = None) -> list[Ran]:
    """Run every job that is due; one failing job is logged and does not stop the rest."""
    ran: list[Ran] = []
    for name, job in registered(app).items():
        at = now or utcnow()
        try:
            outcome = run_job(app, session, job, at)
        except Exception:  # noqa: BLE001 - a broken job must not stop mail delivery
            session.rollback()
            _give_back(app, session, name)
            ran.append(Ran(name, job.schedule.slot(at, app.config), False, None))
            continue
        if outcome.ran:
            ran.append(Ran(name, outcome.slot, True, outcome.value))
    return ran


def _give_back(app: Flask, session: Session, name: str) -> None:
    """After an error outside the job (e.g. SQLite busy while recording), free a lease we
    may still hold so the job does not wait for it to run out."""
    try:
        _release(session, name, holder_name())
        session.commit()
    except Exception:  # noqa: BLE001 - the lease then runs out by itself
        session.rollback()
        app.logger.warning("Could not release the lease of job %s", name)


def run_due(app: Flask, session: Session, now: datetime | None = None) -> dict[str, Any]:
    """What each job that ran returned (``None`` for one that failed)."""
    return {run.name: run.value for run in run_due_jobs(app, session, now)}


@dataclass(frozen=True)
class JobStatus:
    name: str
    schedule: str
    last_slot: datetime | None
    last_finished_at: datetime | None
    last_ok: bool | None
    last_result: str | None
    next_due: datetime
    holder: str | None
    lease_until: datetime | None


def status(app: Flask, session: Session, now: datetime | None = None) -> list[JobStatus]:
    now = now or utcnow()
    rows = {row.name: row for row in session.scalars(select(ScheduledJob))}
    statuses = []
    for name, job in sorted(registered(app).items()):
        row = rows.get(name)
        current = job.schedule.slot(now, app.config)
        done = row is not None and row.last_slot is not None and row.last_slot >= current and row.last_ok
        statuses.append(
            JobStatus(
                name=name,
                schedule=job.schedule.describe(app.config),
                last_slot=row.last_slot if row else None,
                last_finished_at=row.last_finished_at if row else None,
                last_ok=row.last_ok if row else None,
                last_result=row.last_result if row else None,
                next_due=job.schedule.next_after(current, app.config) if done else current,
                holder=row.holder if row else None,
                lease_until=row.lease_until if row else None,
            )
        )
    return statuses
