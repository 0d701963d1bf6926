"""Daily and weekly digests: one mail per person with everything since their last one."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from commsplan.delivery.hooks import register_periodic
    from commsplan.digests import cli, models, services, views  # noqa: F401

    app.config.setdefault("DIGEST_DAILY_TIME", "07:00")
    app.config.setdefault("DIGEST_WEEKLY_TIME", "07:00")
    # ISO weekday of the weekly digest: 1 = Monday.
    app.config.setdefault("DIGEST_WEEKLY_DAY", 1)
    # False: the worker leaves digests alone (run `flask commsplan digests` from cron).
    app.config.setdefault("DIGESTS_IN_WORKER", True)
    app.register_blueprint(views.bp)
    # The delivery worker runs due rounds between its rounds, like the notice schedule.
    register_periodic(app, "digests", services.run_due)
