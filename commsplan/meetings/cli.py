"""Meeting commands on the ``flask commsplan`` group."""

from __future__ import annotations

import click

from commsplan.cli import commsplan_cli
from commsplan.extensions import db
from commsplan.meetings import services


@commsplan_cli.command("meetings-extend")
def extend_command() -> None:
    """Skapa mötestillfällen fram till horisonten (24 månader) för alla mötesserier."""
    created = services.extend_due(db.session)
    click.echo(f"Skapade {created} nya mötestillfällen.")
