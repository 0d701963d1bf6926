"""The jobs an app runs, registered by the features at app start."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from commsplan.jobs.schedules import Every, Schedule, from_setting

EXTENSION_KEY = "commsplan_periodic"

PeriodicJob = Callable[[Session, datetime], Any]

# A job registered without a schedule is checked once a minute.
DEFAULT_SCHEDULE = Every(60)


@dataclass(frozen=True)
class Job:
    name: str
    run: PeriodicJob
    schedule: Schedule
    # Longer than the job ever takes: after a crash the next worker waits this long.
    lease_seconds: int


def register(
    app: Flask,
    name: str,
    job: PeriodicJob,
    schedule: Schedule | None = None,
    lease_seconds: int = 600,
) -> None:
    jobs = app.extensions.setdefault(EXTENSION_KEY, {})
    jobs[name] = Job(name, job, schedule or DEFAULT_SCHEDULE, lease_seconds)


def registered(app: Flask) -> dict[str, Job]:
    """The jobs with the schedule in force (``JOB_SCHEDULES`` overrides the code's)."""
    overrides = app.config.get("JOB_SCHEDULES") or {}
    jobs = dict(app.extensions.get(EXTENSION_KEY, {}))
    for name, value in overrides.items():
        if name in jobs:
            jobs[name] = Job(name, jobs[name].run, from_setting(value), jobs[name].lease_seconds)
    return jobs
