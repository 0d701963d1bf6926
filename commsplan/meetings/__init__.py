"""Meeting series with cadences, agendas per occurrence and registration."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from commsplan.meetings import cli, models, services, views  # noqa: F401

    app.register_blueprint(views.bp)

    from commsplan.delivery.hooks import Every, register_periodic

    # Keeps occurrences materialised 24 months ahead without a separate cron job.
    register_periodic(app, "meetings-extend", services.extend_due, Every(3600))
    # Sign-ups whose address never confirmed are forgotten once their link expires.
    register_periodic(app, "meetings-purge-unconfirmed", services.purge_unconfirmed, Every(900))
