"""Recipient resolution in one place: the plan's audience rules, subscriptions, opt-outs,
bounces and the coordinator's own additions; the rules matrix and the problem addresses."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from commsplan.audience import models, services, views  # noqa: F401
    from commsplan.plan.document import register_section

    app.register_blueprint(views.bp)
    register_section(app, "mottagare", services.document_section)
