"""``flask commsplan worker`` (long-running) and ``flask commsplan deliver`` (drain once)."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click
from flask import current_app
from sqlalchemy.orm import Session

from commsplan.cli import commsplan_cli
from commsplan.delivery.worker import Deliverer, DrainResult
from commsplan.extensions import db
from commsplan.jobs.services import run_due_jobs


def _run_periodic() -> None:
    # A session of its own, closed at once: the worker holds no connection or open
    # transaction while it sends or sleeps.
    with Session(db.engine) as session:
        for run in run_due_jobs(current_app, session):
            # One line per job run: what an operator (and the two-worker test) reads.
            outcome = "klart" if run.ok else "misslyckades"
            click.echo(f"Jobb {run.name} för {run.slot.isoformat()}: {outcome}")


def _summary(result: DrainResult) -> str:
    return (
        f"Skickade {result.sent}, försöker igen senare {result.retrying}, "
        f"misslyckades {result.failed}, lämnade tillbaka {result.released}."
    )


@commsplan_cli.command("deliver")
@click.option("--connections", type=int, default=None, help="Antal samtidiga SMTP-anslutningar.")
def deliver_command(connections: int | None) -> None:
    """Skicka all e-post som står på tur och avsluta (ett varv av workern, t.ex. från cron)."""
    _run_periodic()
    result = Deliverer.from_app(current_app, connections=connections).drain()
    click.echo(_summary(result))
    for error in result.errors:
        click.echo(f"Fel: {error}", err=True)
    if result.errors:
        raise SystemExit(1)


@commsplan_cli.command("worker")
@click.option("--connections", type=int, default=None, help="Antal samtidiga SMTP-anslutningar.")
@click.option("--poll", type=float, default=None, help="Sekunder mellan kontroller när kön är tom.")
def worker_command(connections: int | None, poll: float | None) -> None:
    """Skicka e-post ur kön tills processen stoppas (SIGTERM/Ctrl-C avslutar snyggt)."""
    deliverer = Deliverer.from_app(current_app, connections=connections, poll_seconds=poll)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        # Finish the batches in flight, then leave; unsent claims would otherwise wait
        # for the lease to run out.
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    settings = deliverer.settings
    click.echo(
        f"Skickar e-post via {settings.server}:{settings.port} med {settings.connections} "
        f"anslutningar ({deliverer.name}). Stoppa med Ctrl-C."
    )
    while not stop.is_set():
        # Scheduled mail (service-window reminders …) is queued first, then sent this round.
        _run_periodic()
        result = deliverer.drain(stop)
        if result.claimed:
            click.echo(_summary(result))
        for error in result.errors:
            click.echo(f"Fel: {error}", err=True)
        if not result.claimed or result.connection_failed or result.errors:
            stop.wait(settings.poll_seconds)
    click.echo("Avslutar.")
