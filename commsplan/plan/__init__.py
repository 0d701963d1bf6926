"""The communication plan: stakeholders, recipients, channels, services and the document."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from commsplan.plan import document_views, models, services, views  # noqa: F401

    services.track_plan_changes()
    app.register_blueprint(views.bp)
