"""Plan commands on the ``flask commsplan`` group."""

from __future__ import annotations

import click

from commsplan.cli import commsplan_cli
from commsplan.extensions import db
from commsplan.plan.demo import load_demo


@commsplan_cli.command("demo")
def demo_command() -> None:
    """Läs in Region Uppsalas kommunikationsplan som demodata (kan köras flera gånger)."""
    report = load_demo(db.session)
    db.session.commit()
    if report.total == 0:
        click.echo("Demodata fanns redan; inget ändrades.")
        return
    summary = ", ".join(f"{name} {count}" for name, count in sorted(report.added.items()))
    click.echo(f"Demodata inläst: {summary}.")
