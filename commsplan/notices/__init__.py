"""Notices about releases, service windows, outages and general information, and the
public status page."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from commsplan.auth.models import Role
    from commsplan.notices import cli, models, views  # noqa: F401

    app.config.setdefault("NOTICE_REMINDER_TIME", "09:00")
    app.config.setdefault("NOTICE_REMINDER_MINUTES", None)
    app.config.setdefault("STATUS_HISTORY_DAYS", 30)
    # How long a process may serve its rendering of /status while no notice changed.
    app.config.setdefault("STATUS_CACHE_SECONDS", 5)
    app.register_blueprint(views.bp)
    app.register_blueprint(views.status_bp)
    app.jinja_env.filters.setdefault("markdown", views.markdown_filter)
    app.jinja_env.filters.setdefault("localtime", views.localtime_filter)
    app.jinja_env.globals.setdefault("Role", Role)
    _register_schedule_hook(app)


def _register_schedule_hook(app: Flask) -> None:
    """Let the delivery worker run the service-window schedule between its rounds."""
    from commsplan.delivery.hooks import Every, register_periodic
    from commsplan.notices.services import run_schedule

    # Reminders, starts and ends are due to the minute: checked every 30 seconds.
    register_periodic(app, "notice-schedule", run_schedule, Every(30), lease_seconds=300)
