"""Daily and weekly digests: one mail per person with everything since their last one."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from commsplan.delivery.hooks import Daily, register_periodic
    from commsplan.digests import cli, models, services, views  # noqa: F401

    app.config.setdefault("DIGEST_DAILY_TIME", "07:00")
    app.config.setdefault("DIGEST_WEEKLY_TIME", "07:00")
    # ISO weekday of the weekly digest: 1 = Monday.
    app.config.setdefault("DIGEST_WEEKLY_DAY", 1)
    # False: the worker leaves digests alone (run `flask commsplan digests` from cron).
    app.config.setdefault("DIGESTS_IN_WORKER", True)
    app.register_blueprint(views.bp)
    # The delivery worker runs due rounds at the configured times (the weekday and public
    # holidays are run_due's to judge); a round for 10,000 people may take a while.
    register_periodic(
        app,
        "digests",
        services.run_due,
        Daily.from_config("DIGEST_DAILY_TIME", "DIGEST_WEEKLY_TIME"),
        lease_seconds=1800,
    )
