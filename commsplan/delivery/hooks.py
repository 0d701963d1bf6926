"""Periodic jobs the delivery worker runs between its rounds (e.g. the notice schedule).

Features register a callable ``job(session, now)`` at app start; the worker calls
``run_periodic(app, session)`` once per loop. Jobs must be idempotent: several workers
may run them at the same time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from commsplan.timeutil import utcnow

EXTENSION_KEY = "commsplan_periodic"

PeriodicJob = Callable[[Session, datetime], Any]


def register_periodic(app: Flask, name: str, job: PeriodicJob) -> None:
    app.extensions.setdefault(EXTENSION_KEY, {})[name] = job


def periodic_jobs(app: Flask) -> dict[str, PeriodicJob]:
    return dict(app.extensions.get(EXTENSION_KEY, {}))


def run_periodic(app: Flask, session: Session, now: datetime | None = None) -> dict[str, Any]:
    """Run every registered job once; one failing job is logged and does not stop the rest."""
    results: dict[str, Any] = {}
    for name, job in periodic_jobs(app).items():
        try:
            results[name] = job(session, now or utcnow())
        except Exception:  # noqa: BLE001 - a broken job must not stop mail delivery
            session.rollback()
            app.logger.exception("Periodic job %s failed", name)
            results[name] = None
    return results
