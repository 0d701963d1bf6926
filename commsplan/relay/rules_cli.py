"""``flask commsplan relay rules`` and ``relay add-rule``.

The ``relay`` group belongs to the relay commands (``commsplan/relay/cli.py``); ``attach``
adds these two to it, or makes the group when it is not there (yet).
"""

from __future__ import annotations

import click
from flask_babel import gettext as _
from sqlalchemy import select

from commsplan.cli import commsplan_cli
from commsplan.extensions import db
from commsplan.plan.models import Service, System
from commsplan.relay import rules_services as services


@click.command("rules")
def rules_command() -> None:
    """Visa mappningsreglerna: ord i nationell information → regionens e-tjänst/system."""
    rules = services.list_rules(db.session)
    if not rules:
        click.echo(_("Inga regler ännu."))
    for rule in rules:
        click.echo(f"{rule.id}\t{rule.pattern}\t→ {', '.join(rule.targets)}")


@click.command("add-rule")
@click.option("--pattern", required=True, help="Ord eller beteckning (hela ord, oavsett skiftläge).")
@click.option("--service", "service_name", help="Regionens e-tjänst (namnet).")
@click.option("--system", "system_name", help="Regionens system (namnet).")
@click.option("--note", default="", help="Anteckning.")
def add_rule_command(pattern: str, service_name: str | None, system_name: str | None, note: str) -> None:
    """Lägg till en mappningsregel."""
    service = system = None
    if service_name:
        service = db.session.scalar(select(Service).where(Service.name == service_name))
        if service is None:
            raise click.ClickException(_("E-tjänsten ”%(name)s” finns inte.", name=service_name))
    if system_name:
        system = db.session.scalar(select(System).where(System.name == system_name))
        if system is None:
            raise click.ClickException(_("Systemet ”%(name)s” finns inte.", name=system_name))
    data = services.RuleData(
        pattern=pattern,
        service_id=service.id if service else None,
        system_id=system.id if system else None,
        note=note,
    )
    try:
        rule = services.create_rule(db.session, data, None)
    except services.RuleError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(
        _(
            "Regel %(id)s sparad: %(pattern)s → %(targets)s",
            id=rule.id,
            pattern=rule.pattern,
            targets=", ".join(rule.targets),
        )
    )


def attach() -> None:
    group = commsplan_cli.commands.get("relay")
    if not isinstance(group, click.Group):
        group = click.Group("relay", help="Nationell information: källor, granskning och mappningsregler.")
        commsplan_cli.add_command(group)
    group.add_command(rules_command)
    group.add_command(add_rule_command)
