"""Subscriptions to notices: self-service sign-up, preferences without log-in and
one-click unsubscribe links (RFC 8058)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from commsplan.delivery.hooks import Every, register_periodic
    from commsplan.extensions import csrf, limiter
    from commsplan.subscriptions import models, services, views  # noqa: F401
    from commsplan.subscriptions.labels import FREQUENCY_LABELS

    app.config.setdefault("SUBSCRIBE_CONFIRM_HOURS", 48)
    app.config.setdefault("SUBSCRIBE_MAILS_PER_ADDRESS", 3)
    app.config.setdefault("SUBSCRIBE_RATE_LIMIT", "10 per hour")
    app.config.setdefault("PREFERENCES_LINK_DAYS", 60)
    app.config.setdefault("ONE_CLICK_LINK_DAYS", 365)
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    limiter.init_app(app)
    # The one-click unsubscribe POST comes from mail clients: the signed token in the URL
    # is the proof, there is no session and no form token to check.
    csrf.exempt(views.unsubscribe)
    csrf.exempt(views.undo_unsubscribe)
    csrf.exempt(views.one_click)
    app.register_blueprint(views.bp)
    register_periodic(app, "subscriptions-prune-sign-ups", services.prune_sign_ups, Every(900))
    app.jinja_env.filters.setdefault("frequency_label", lambda f: str(FREQUENCY_LABELS[f]).lower())
