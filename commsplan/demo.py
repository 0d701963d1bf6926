"""``flask commsplan demo``: the demo region, composed from each feature's own loader."""

from __future__ import annotations

import click

from commsplan.audience.demo import load_audience_demo
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
    rules = load_audience_demo(db.session)
    if rules:
        report.added["AudienceRule"] += rules
    meetings = load_meetings_demo(db.session, local(utcnow()).date())
    db.session.commit()
    if report.total == 0 and meetings.created_series == 0:
        click.echo("Demodata fanns redan; inget ändrades.")
        return
    if report.total:
        summary = ", ".join(f"{name} {count}" for name, count in sorted(report.added.items()))
        click.echo(f"Demodata inläst: {summary}.")
    if meetings.created_series:
        click.echo(
            f"Mötesserier inlästa: {meetings.created_series} serier, {meetings.occurrences} tillfällen."
        )
