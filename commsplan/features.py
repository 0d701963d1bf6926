"""Registers every feature package with the app: one ``init_app`` per feature."""

from __future__ import annotations

from flask import Flask

from commsplan import (
    activities,
    api,
    audience,
    audit,
    auth,
    backup,
    delivery,
    digests,
    feeds,
    jobs,
    meetings,
    notices,
    ops,
    pages,
    plan,
    relay,
    subscriptions,
)

FEATURES = (
    # First: request ids and timing start before any other feature's hooks run.
    ops,
    jobs,
    backup,
    audit,
    auth,
    plan,
    delivery,
    subscriptions,
    audience,
    notices,
    digests,
    api,
    meetings,
    feeds,
    pages,
    activities,
    relay,
)


def init_app(app: Flask) -> None:
    for feature in FEATURES:
        feature.init_app(app)
