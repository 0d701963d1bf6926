from __future__ import annotations

import sys

import click

from commsplan.auth import services
from commsplan.auth.models import Role
from commsplan.cli import commsplan_cli
from commsplan.extensions import db


@commsplan_cli.command("create-user")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice([role.value for role in Role]),
    default=Role.viewer.value,
    show_default=True,
    help="Behörighet för kontot.",
)
@click.option("--name", default="", help="Visningsnamn.")
def create_user_command(email: str, role: str, name: str) -> None:
    """Skapa ett konto. Lösenordet läses från stdin, eller efterfrågas."""
    if sys.stdin.isatty():
        password = click.prompt("Lösenord", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")
    try:
        user = services.create_user(db.session, email, password, Role(role), name)
    except services.AccountError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"Skapade {user.email} ({user.role.value}).")
