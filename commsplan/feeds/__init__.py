"""Calendar feeds (iCalendar) and iMIP invitations for meetings and notices."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from commsplan.feeds import cli, models, views  # noqa: F401

    app.register_blueprint(views.bp)
