"""Running commsplan for real: reverse-proxy headers, HSTS, JSON request logs, health
checks and Prometheus metrics (deploy/README.md)."""

from __future__ import annotations

from flask import Flask

from commsplan.config import ConfigurationError
from commsplan.ops import metrics, requestlog, transport, views


def _networks_parse(value: object) -> bool:
    # Empty is fine (token only); a network that does not parse raises ValueError.
    metrics.parse_networks(value)
    return True


def check_settings(app: Flask) -> None:
    """Refuse settings the operator mistyped at start-up, not at the first scrape."""
    config = app.config
    checks = {
        "COMMSPLAN_PROXY_HOPS": lambda: int(config["PROXY_HOPS"]) >= 0,
        "COMMSPLAN_HSTS_MAX_AGE": lambda: int(config["HSTS_MAX_AGE"]) >= 0,
        "COMMSPLAN_PUBLIC_CACHE_MAX_AGE": lambda: int(config["PUBLIC_CACHE_MAX_AGE"]) >= 0,
        "COMMSPLAN_PUBLIC_VERSION_SECONDS": lambda: float(config["PUBLIC_VERSION_SECONDS"]) >= 0,
        "COMMSPLAN_READY_MAX_QUEUE_AGE": lambda: float(config["READY_MAX_QUEUE_AGE"]) > 0,
        "COMMSPLAN_METRICS_LATENCY_WINDOW": lambda: float(config["METRICS_LATENCY_WINDOW"]) > 0,
        "COMMSPLAN_METRICS_NETWORKS": lambda: _networks_parse(config["METRICS_NETWORKS"]),
    }
    for name, check in checks.items():
        try:
            valid = check()
        except (TypeError, ValueError):
            valid = False
        if not valid:
            raise ConfigurationError(f"{name} has a value that cannot be used.")


def init_app(app: Flask) -> None:
    check_settings(app)
    transport.init_app(app)
    requestlog.init_app(app)
    app.register_blueprint(views.bp)
