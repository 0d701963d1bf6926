"""Explicit subscriptions to notices and one-click unsubscribe links (RFC 8058)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from commsplan.extensions import csrf
    from commsplan.subscriptions import models, views  # noqa: F401

    # The one-click unsubscribe POST comes from mail clients: the signed token in the URL
    # is the proof, there is no session and no form token to check.
    csrf.exempt(views.unsubscribe)
    app.register_blueprint(views.bp)
