"""History: who created, changed, published, sent and deleted what, and when.

Recorded by a flush listener in the same transaction as the change, so no feature calls
it and nothing is logged for a change that was rolled back. A package of its own, below
every feature: notices, plan and activities all write to it without importing it.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from commsplan.audit import models, recorder, services, views  # noqa: F401
    from commsplan.delivery.hooks import Daily, register_periodic

    # How long history is kept (days); older entries are deleted by the worker.
    app.config.setdefault("AUDIT_RETENTION_DAYS", 730)
    recorder.install()
    app.register_blueprint(views.bp)
    app.jinja_env.globals["audit_history"] = views.history_for
    register_periodic(
        app,
        "audit-retention",
        lambda session, now: services.purge(session, now, app.config["AUDIT_RETENTION_DAYS"]),
        Daily.at("03:00"),
    )
