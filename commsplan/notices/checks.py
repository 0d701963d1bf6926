"""Checks other features add to publishing, without notices knowing them.

A feature that depends on notices (activities: "a release needs a prepared activity")
registers ``check(session, notice) -> {field: message}`` at app start; ``publish`` and the
publish page run every registered check. Kept on ``app.extensions`` so each app built by
the factory has its own list and nothing is shared between processes.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app
from sqlalchemy.orm import Session

from commsplan.notices.models import Notice

EXTENSION_KEY = "commsplan_publish_checks"

PublishCheck = Callable[[Session, Notice], dict[str, str]]


def register_publish_check(app: Flask, name: str, check: PublishCheck) -> None:
    app.extensions.setdefault(EXTENSION_KEY, {})[name] = check


def run_publish_checks(session: Session, notice: Notice) -> dict[str, str]:
    """What the registered checks say stands in the way of publishing ``notice``."""
    blockers: dict[str, str] = {}
    for check in current_app.extensions.get(EXTENSION_KEY, {}).values():
        blockers.update(check(session, notice))
    return blockers
