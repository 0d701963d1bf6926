"""``flask commsplan relay …``: register, list, remove and poll relay sources."""

from __future__ import annotations

import click

from commsplan.cli import commsplan_cli
from commsplan.extensions import db
from commsplan.kinds import NoticeKind
from commsplan.relay import services
from commsplan.relay.labels import source_kind_label
from commsplan.relay.models import SourceKind


@commsplan_cli.group("relay")
def relay_cli() -> None:
    """Nationell information: källor (funktionsbrevlåda, flöden) och inläsning."""


@relay_cli.command("add-source")
@click.option("--name", required=True, help="Källans namn.")
@click.option(
    "--feed", "feed_url", default=None, help="Adress till ett Atom-, RSS-, iCalendar- eller JSON-flöde."
)
@click.option("--interval", type=click.IntRange(1, 1440), default=None, help="Minuter mellan läsningar.")
@click.option("--imap-host", default=None, help="IMAP-server för funktionsbrevlådan.")
@click.option("--imap-port", type=click.IntRange(1, 65535), default=None)
@click.option("--imap-user", default=None)
@click.option("--imap-password-env", default=None, help="Miljövariabeln som har lösenordet.")
@click.option("--imap-folder", default="INBOX", show_default=True)
@click.option("--imap-move-to", default="", help="Flytta lästa brev hit (annars flaggas de).")
@click.option("--no-tls", is_flag=True, help="Okrypterad IMAP (bara för test).")
@click.option(
    "--auto-publish",
    multiple=True,
    type=click.Choice([k.value for k in NoticeKind]),
    help="Publicera utkast av denna typ direkt (kan upprepas).",
)
def add_source_command(
    name: str,
    feed_url: str | None,
    interval: int | None,
    imap_host: str | None,
    imap_port: int | None,
    imap_user: str | None,
    imap_password_env: str | None,
    imap_folder: str,
    imap_move_to: str,
    no_tls: bool,
    auto_publish: tuple[str, ...],
) -> None:
    """Lägg till en källa: --feed URL eller --imap-host HOST …"""
    if bool(feed_url) == bool(imap_host):
        raise click.UsageError("Ange antingen --feed eller --imap-host.")
    try:
        if feed_url:
            kind, settings = SourceKind.feed, services.feed_settings(feed_url, interval)
        else:
            kind = SourceKind.imap
            settings = services.imap_settings(
                imap_host or "",
                imap_port,
                imap_user or "",
                imap_password_env or "",
                imap_folder,
                tls=not no_tls,
                move_to=imap_move_to,
                interval_minutes=interval,
            )
        source = services.add_source(db.session, name, kind, settings, [NoticeKind(k) for k in auto_publish])
    except services.RelayError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"Källan {source.name} är tillagd ({source_kind_label(source.kind)}).")


@relay_cli.command("list")
def list_command() -> None:
    """Visa källorna och hur de mår."""
    sources = services.list_sources(db.session)
    if not sources:
        click.echo("Inga källor.")
    for source in sources:
        health = "OK" if services.source_healthy(source) else f"FEL: {source.last_error}"
        last = source.last_success_at.isoformat(timespec="minutes") if source.last_success_at else "aldrig"
        click.echo(
            f"{source.name}\t{source_kind_label(source.kind)}\tsenast läst {last}\t"
            f"{source.items_seen} poster\t{health}"
        )


@relay_cli.command("remove")
@click.argument("name")
def remove_command(name: str) -> None:
    """Ta bort källan NAME (utkast som gjorts från den finns kvar)."""
    source = services.find_source(db.session, name)
    if source is None:
        raise click.ClickException(f"Ingen källa heter {name}.")
    services.remove_source(db.session, source)
    db.session.commit()
    click.echo(f"Källan {source.name} är borttagen.")


@relay_cli.command("poll")
def poll_command() -> None:
    """Läs varje källa en gång nu."""
    results = services.poll_all(db.session)
    failed = False
    for name, result in results.items():
        if result.error:
            failed = True
            click.echo(f"{name}: FEL: {result.error}", err=True)
        else:
            click.echo(
                f"{name}: {result.new} nya, {result.updated} ändrade, "
                f"{result.duplicates} dubbletter, {result.bounces} studsar."
            )
    if failed:
        raise SystemExit(1)
