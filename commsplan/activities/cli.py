"""``flask commsplan activity-templates``: add the shipped checklist templates if missing."""

from __future__ import annotations

import click

from commsplan.activities import services
from commsplan.cli import commsplan_cli
from commsplan.extensions import db


@commsplan_cli.command("activity-templates")
def activity_templates_command() -> None:
    """Lägg in planens checklistor (aktivitetsfrågorna och den redaktionella bedömningen) om de saknas."""
    added = services.ensure_default_templates(db.session)
    db.session.commit()
    click.echo(f"Checklistor tillagda: {added}.")
