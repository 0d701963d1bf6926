"""The single ``flask commsplan …`` command group; features hang their commands on it."""

from __future__ import annotations

from flask import Flask
from flask.cli import AppGroup

commsplan_cli = AppGroup("commsplan", help="Administrera commsplan.")


def init_app(app: Flask) -> None:
    from commsplan import demo  # noqa: F401  (registers `demo`, which spans features)

    app.cli.add_command(commsplan_cli)
