"""``flask commsplan schedule``: run the service-window schedule once."""

from __future__ import annotations

import click

from commsplan.cli import commsplan_cli
from commsplan.extensions import db
from commsplan.notices import services


@commsplan_cli.command("schedule")
def schedule_command() -> None:
    """Skicka påminnelser och start-/slutmeddelanden för servicefönster som är på tur."""
    sent = services.run_schedule(db.session)
    for notice_id, event in sent:
        click.echo(f"Meddelande {notice_id}: {event}")
    click.echo(f"Skickade {len(sent)} schemalagda utskick.")
