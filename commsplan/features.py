"""Registers every feature package with the app: one ``init_app`` per feature."""

from __future__ import annotations

from flask import Flask

from commsplan import activities, api, audit, auth, delivery, feeds, meetings, notices, plan, subscriptions

FEATURES = (audit, auth, plan, delivery, notices, subscriptions, api, meetings, feeds, activities)


def init_app(app: Flask) -> None:
    for feature in FEATURES:
        feature.init_app(app)
