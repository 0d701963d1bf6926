"""``flask commsplan worker`` (long-running) and ``flask commsplan deliver`` (drain once)."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click
from flask import current_app

from commsplan.cli import commsplan_cli
from commsplan.delivery.worker import Deliverer, DrainResult


def _summary(result: DrainResult) -> str:
    return (
        f"Skickade {result.sent}, försöker igen senare {result.retrying}, "
        f"misslyckades {result.failed}, lämnade tillbaka {result.released}."
    )


@commsplan_cli.command("deliver")
@click.option("--connections", type=int, default=None, help="Antal samtidiga SMTP-anslutningar.")
def deliver_command(connections: int | None) -> None:
    """Skicka all e-post som står på tur och avsluta."""
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
        result = deliverer.drain(stop)
        if result.claimed:
            click.echo(_summary(result))
        for error in result.errors:
            click.echo(f"Fel: {error}", err=True)
        if not result.claimed or result.connection_failed or result.errors:
            stop.wait(settings.poll_seconds)
    click.echo("Avslutar.")
