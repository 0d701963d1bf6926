"""``flask commsplan jobs``: the scheduled jobs, when they last ran and who runs them."""

from __future__ import annotations

from datetime import datetime

import click
from flask import current_app

from commsplan.cli import commsplan_cli
from commsplan.extensions import db
from commsplan.jobs import services
from commsplan.timeutil import local, utcnow


def _when(value: datetime | None) -> str:
    return local(value).strftime("%Y-%m-%d %H:%M:%S") if value else "–"


@commsplan_cli.command("jobs")
def jobs_command() -> None:
    """Visa schemalagda jobb: schema, senaste körning, nästa tid och vem som kör det nu."""
    now = utcnow()
    for job in services.status(current_app, db.session, now):
        outcome = {True: "klar", False: "misslyckades", None: "aldrig körd"}[job.last_ok]
        holder = f"körs av {job.holder} till {_when(job.lease_until)}" if job.holder else "ledigt"
        click.echo(
            f"{job.name}: {job.schedule}; senast {_when(job.last_slot)} ({outcome}"
            f"{', ' + job.last_result if job.last_result else ''}, klar {_when(job.last_finished_at)}); "
            f"nästa {_when(job.next_due) if job.next_due > now else 'nu'}; {holder}"
        )
