from __future__ import annotations

import click

from commsplan.api import services
from commsplan.cli import commsplan_cli
from commsplan.extensions import db


@commsplan_cli.command("create-token")
@click.argument("email")
@click.option("--name", default="", help="Vad token används till, t.ex. övervakningen.")
def create_token_command(email: str, name: str) -> None:
    """Skapa en API-token åt kontot EMAIL. Token visas bara den här gången."""
    try:
        row, plain = services.create_token_for_email(db.session, email, name)
    except services.TokenError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(plain)
    click.echo(
        f"Token {row.id} ({row.prefix}…) för {row.user.email}. Spara den nu, den visas inte igen.", err=True
    )


@commsplan_cli.command("revoke-token")
@click.argument("token")
def revoke_token_command(token: str) -> None:
    """Återkalla en token, angiven som id, början (prefix) eller hela token."""
    rows = services.find(db.session, token)
    if not rows:
        raise click.ClickException("Hittade ingen sådan token.")
    if len(rows) > 1:
        raise click.ClickException("Flera tokens börjar så; ange id i stället.")
    services.revoke(db.session, rows[0])
    db.session.commit()
    click.echo(f"Token {rows[0].id} ({rows[0].prefix}…) är återkallad.")
