"""Calendar feeds (iCalendar) and iMIP invitations for meetings and notices."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from commsplan.delivery.hooks import Every, register_periodic
    from commsplan.feeds import cli, models, services, views  # noqa: F401

    app.register_blueprint(views.bp)
    # The delivery worker runs it between rounds: no separate cron job to set up.
    register_periodic(app, "feeds-prune-cache", services.prune_cache, Every(3600))
