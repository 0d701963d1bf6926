"""Meeting series with cadences, agendas per occurrence and registration."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from commsplan.meetings import cli, models, views  # noqa: F401

    app.register_blueprint(views.bp)
