"""Backups: the whole plan as one versioned JSON document, and back again."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from commsplan.backup import cli  # noqa: F401
