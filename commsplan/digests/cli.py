"""``flask commsplan digests --period daily|weekly``: build and queue one round now."""

from __future__ import annotations

import click

from commsplan.cli import commsplan_cli
from commsplan.digests import services
from commsplan.extensions import db
from commsplan.subscriptions.models import Frequency


@commsplan_cli.command("digests")
@click.option("--period", type=click.Choice(["daily", "weekly"]), required=True, help="daily eller weekly")
def digests_command(period: str) -> None:
    """Skicka sammanfattningar: en per person, med allt sedan den förra (körs en gång per period)."""
    result = services.run_round(db.session, Frequency(period))
    if result.already_done:
        click.echo(f"Sammanfattningarna för {period} {result.key} är redan skickade.")
        return
    click.echo(
        f"Sammanfattningar {period} {result.key}: {result.sent} köade, {result.empty} utan nyheter, "
        f"{result.skipped} redan skickade."
    )
