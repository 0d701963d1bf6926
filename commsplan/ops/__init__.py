"""Running commsplan for real: reverse-proxy headers, HSTS, JSON request logs, health
checks and Prometheus metrics (deploy/README.md)."""

from __future__ import annotations

from flask import Flask

from commsplan.ops import requestlog, transport, views


def init_app(app: Flask) -> None:
    transport.init_app(app)
    requestlog.init_app(app)
    app.register_blueprint(views.bp)
