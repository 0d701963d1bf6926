"""``flask commsplan demo``: the demo region, composed from each feature's own loader."""

from __future__ import annotations

import click

from commsplan.activities.demo import load_activities_demo
from commsplan.activities.services import ensure_default_templates
from commsplan.cli import commsplan_cli
from commsplan.extensions import db
from commsplan.meetings.demo import load_meetings_demo
from commsplan.plan.demo import load_demo
from commsplan.timeutil import local, utcnow


@commsplan_cli.command("demo")
def demo_command() -> None:
    """Läs in Region Uppsalas kommunikationsplan och möten som demodata (kan köras flera gånger)."""
    report = load_demo(db.session)
    db.session.flush()
    meetings = load_meetings_demo(db.session, local(utcnow()).date())
    templates = ensure_default_templates(db.session)
    activities = load_activities_demo(db.session)
    db.session.commit()
    if report.total == 0 and meetings.created_series == 0 and templates == 0 and activities == 0:
        click.echo("Demodata fanns redan; inget ändrades.")
        return
    if report.total:
        summary = ", ".join(f"{name} {count}" for name, count in sorted(report.added.items()))
        click.echo(f"Demodata inläst: {summary}.")
    if templates:
        click.echo(f"Checklistor inlästa: {templates}.")
    if activities:
        click.echo(f"Exempelaktivitet inläst: {activities}.")
    if meetings.created_series:
        click.echo(
            f"Mötesserier inlästa: {meetings.created_series} serier, {meetings.occurrences} tillfällen."
        )
