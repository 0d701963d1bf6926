"""The communication plan: stakeholders, recipients, channels, services and the document."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from commsplan.plan import cli, document_views, models, views  # noqa: F401

    app.register_blueprint(views.bp)
