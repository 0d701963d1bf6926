"""Periodic jobs the delivery worker runs between its rounds (e.g. the notice schedule).

Features register a callable ``job(session, now)`` with a schedule at app start; the
worker calls ``run_periodic(app, session)`` once per loop, and each job runs once per due
time across all workers (``commsplan.jobs`` holds the lease in the database). Jobs must
still be idempotent: a worker that dies mid-run leaves its slot to the next one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from commsplan.jobs import services
from commsplan.jobs.registry import PeriodicJob, register, registered
from commsplan.jobs.schedules import Daily, Every, Schedule

__all__ = ["Daily", "Every", "PeriodicJob", "Schedule", "periodic_jobs", "register_periodic", "run_periodic"]


def register_periodic(
    app: Flask, name: str, job: PeriodicJob, schedule: Schedule | None = None, lease_seconds: int = 600
) -> None:
    """Register ``job`` under ``name``; without a schedule it is due once a minute."""
    register(app, name, job, schedule, lease_seconds)


def periodic_jobs(app: Flask) -> dict[str, PeriodicJob]:
    return {name: job.run for name, job in registered(app).items()}


def run_periodic(app: Flask, session: Session, now: datetime | None = None) -> dict[str, Any]:
    """Run the jobs that are due; returns what each job that ran returned (``None`` if it
    failed). A job whose slot another worker ran, or is running, is left out."""
    return services.run_due(app, session, now)
