"""Relaying national information (issue 12): reading national items, mapping them to the
region's e-services and systems, and the review queue."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from commsplan.relay import rules, rules_cli, rules_views  # noqa: F401

    app.register_blueprint(rules_views.bp)
    # After every relay module is imported: the ``relay`` command group may be theirs.
    rules_cli.attach()
