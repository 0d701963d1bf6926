"""Durable outbox for mail: enqueue in the caller's transaction, a worker sends."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from commsplan.delivery import cli, models, views  # noqa: F401
    from commsplan.delivery.worker import DEFAULTS

    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    app.register_blueprint(views.bp)
