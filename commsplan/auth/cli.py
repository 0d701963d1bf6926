from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app

from commsplan.auth import routes, services
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


DEMO_ADMIN_EMAIL = "admin@example.org"


@commsplan_cli.command("demo-admin")
def demo_admin_command() -> None:
    """Skapa (en gång) ett demo-administratörskonto och skriv ut inloggningen."""
    from pathlib import Path

    from flask import current_app

    password_file = Path(current_app.instance_path) / "demo_admin_password"
    user = services.find_user(db.session, DEMO_ADMIN_EMAIL)
    if user is None or not password_file.exists():
        password = services.generate_password()
        if user is None:
            services.create_user(db.session, DEMO_ADMIN_EMAIL, password, Role.admin, "Demo-administratör")
        else:
            user.set_password(password)
        db.session.commit()
        password_file.write_text(password)
        password_file.chmod(0o600)
    password = password_file.read_text().strip()
    click.echo(f"Demo-administratör: {DEMO_ADMIN_EMAIL}  lösenord: {password}")


@commsplan_cli.command("routes")
@click.option("--write", is_flag=True, help=f"Skriv tabellen till {routes.DOC_PATH}.")
def routes_command(write: bool) -> None:
    """Visa varje adress med metod och vem som får använda den."""
    text = routes.render_markdown(routes.access_table(current_app))
    if write:
        path = Path(current_app.root_path).parent / routes.DOC_PATH
        path.write_text(text, encoding="utf-8")
        click.echo(f"Skrev {path}.")
    else:
        click.echo(text, nl=False)
