"""Accounts, log-in and roles (admin / coordinator / viewer)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from commsplan.auth import cli, guard, models, views  # noqa: F401

    guard.init_app(app)
    app.register_blueprint(views.bp)
