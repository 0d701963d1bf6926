"""Relay national information into regional notices (issue 12): sources (the functional
mailbox, feeds, pasted mail), mapping national items to the region's e-services and
systems, the review queue, and bounces read from the mailbox.

Depends on notices and delivery, never the other way round.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from commsplan.delivery.hooks import Every, register_periodic
    from commsplan.relay import cli, models, rules, rules_cli, rules_views, services, views  # noqa: F401

    # Seconds a feed or the IMAP server may take to answer before the poll is an error.
    app.config.setdefault("RELAY_FEED_TIMEOUT", 10)
    app.config.setdefault("RELAY_IMAP_TIMEOUT", 30)
    # Mails read per source and round; the rest follow in the next rounds.
    app.config.setdefault("RELAY_IMAP_BATCH", 100)
    app.register_blueprint(views.bp)
    app.register_blueprint(rules_views.bp)
    # After every relay module is imported: the ``relay`` command group is cli.py's.
    rules_cli.attach()
    # Due sources are looked for every minute; each source keeps its own interval and back-off.
    register_periodic(app, "relay-poll", services.poll_due, Every(60), lease_seconds=300)
