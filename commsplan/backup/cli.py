"""``flask commsplan export [FILE]`` and ``flask commsplan import FILE [--replace]``."""

from __future__ import annotations

import sys

import click
from alembic.migration import MigrationContext

from commsplan.backup import services
from commsplan.cli import commsplan_cli
from commsplan.extensions import db


def _schema_revision() -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@commsplan_cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True), required=False)
def export_command(file: str | None) -> None:
    """Exportera hela planen som JSON (till FILE, annars till standard ut)."""
    document = services.export_plan(db.session, _schema_revision())
    text = services.dumps(document)
    if file is None:
        sys.stdout.write(text)
        return
    with open(file, "w", encoding="utf-8") as handle:
        handle.write(text)
    rows = sum(len(rows) for rows in document["tables"].values())
    click.echo(f"Exporterade {rows} rader ur {len(document['tables'])} tabeller till {file}.", err=True)


@commsplan_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--replace", is_flag=True, help="Ersätt planen som redan finns i databasen.")
def import_command(file: str, replace: bool) -> None:
    """Läs in en plan som exporterats med `flask commsplan export`."""
    with open(file, encoding="utf-8") as handle:
        raw = handle.read()
    try:
        counts = services.import_plan(db.session, services.loads(raw), replace=replace)
    except services.BackupError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    click.echo(f"Läste in {sum(counts.values())} rader i {len(counts)} tabeller.")
