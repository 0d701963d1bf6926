"""Scheduled jobs: each registered job runs once per due time, however many workers run.

Features register ``job(session, now)`` with a schedule (an interval or daily local
times) through ``commsplan.delivery.hooks.register_periodic``; every worker calls
``services.run_due`` between its delivery rounds. Who runs which slot is decided in the
database (a lease per job and one run row per slot), never in process memory.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from commsplan.jobs import cli, models  # noqa: F401

    # How long the run history (one row per job and slot) is kept.
    app.config.setdefault("JOB_HISTORY_DAYS", 7)
    # A failed run is tried again after this many seconds (or at the next slot).
    app.config.setdefault("JOB_RETRY_SECONDS", 60)
    # Override schedules without code: {"feeds-prune-cache": 600, "audit-retention": "02:30"}.
    app.config.setdefault("JOB_SCHEDULES", {})
