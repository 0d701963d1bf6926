"""Recipient resolution in one place: the plan's audience rules, subscriptions, opt-outs,
bounces and the coordinator's own additions; the rules matrix and the problem addresses."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from commsplan.audience import models, services, views  # noqa: F401
    from commsplan.extensions import db
    from commsplan.plan.document import register_section

    app.register_blueprint(views.bp)
    register_section(app, "mottagare", services.document_section)

    @app.context_processor
    def address_problems() -> dict[str, object]:
        # The contact page shows a bounce flag without the plan package knowing audience.
        return {"address_problem_of": lambda email: services.address_problem(db.session, email)}
