"""``flask commsplan demo``: the demo region, composed from each feature's own loader."""

from __future__ import annotations

from collections.abc import Callable

import click
from flask_babel import gettext as _
from flask_babel import ngettext

from commsplan.activities.demo import load_activities_demo
from commsplan.activities.services import ensure_default_templates
from commsplan.audience.demo import load_audience_demo
from commsplan.cli import commsplan_cli
from commsplan.extensions import db
from commsplan.meetings.demo import load_meetings_demo
from commsplan.plan.demo import load_demo
from commsplan.relay.demo import load_demo_rules
from commsplan.timeutil import local, utcnow

# What the loader counts (model names), as the coordinator calls them, in plan order.
ROW_LABELS: dict[str, Callable[[int], str]] = {
    "Plan": lambda n: ngettext("%(num)d plan", "%(num)d planer", n),
    "Goal": lambda n: ngettext("%(num)d kommunikationsmål", "%(num)d kommunikationsmål", n),
    "Guideline": lambda n: ngettext("%(num)d riktlinje", "%(num)d riktlinjer", n),
    "StakeholderGroup": lambda n: ngettext("%(num)d intressentgrupp", "%(num)d intressentgrupper", n),
    "InformationNeed": lambda n: ngettext("%(num)d informationsbehov", "%(num)d informationsbehov", n),
    "Unit": lambda n: ngettext("%(num)d enhet", "%(num)d enheter", n),
    "Recipient": lambda n: ngettext(
        "%(num)d mottagare av information", "%(num)d mottagare av information", n
    ),
    "Contact": lambda n: ngettext("%(num)d kontakt", "%(num)d kontakter", n),
    "Channel": lambda n: ngettext("%(num)d kanal", "%(num)d kanaler", n),
    "Service": lambda n: ngettext("%(num)d e-tjänst", "%(num)d e-tjänster", n),
    "System": lambda n: ngettext("%(num)d system", "%(num)d system", n),
    "Responsibility": lambda n: ngettext(
        "%(num)d rad i ansvarstabellen", "%(num)d rader i ansvarstabellen", n
    ),
    "Dependency": lambda n: ngettext("%(num)d beroende", "%(num)d beroenden", n),
    "Collaboration": lambda n: ngettext("%(num)d samverkansform", "%(num)d samverkansformer", n),
    "MappingRule": lambda n: ngettext("%(num)d mappningsregel", "%(num)d mappningsregler", n),
}


def describe_added(added: dict[str, int]) -> str:
    """``{"Channel": 8, …}`` as "8 kanaler, …" in plan order; unknown kinds as other rows."""
    parts = [label(added[name]) for name, label in ROW_LABELS.items() if added.get(name)]
    others = sum(count for name, count in added.items() if name not in ROW_LABELS)
    if others:
        parts.append(ngettext("%(num)d annan rad", "%(num)d andra rader", others))
    return ", ".join(parts)


@commsplan_cli.command("demo")
def demo_command() -> None:
    """Läs in Region Uppsalas kommunikationsplan och möten som demodata (kan köras flera gånger)."""
    report = load_demo(db.session)
    db.session.flush()
    rules = load_audience_demo(db.session)
    if rules:
        report.added["AudienceRule"] += rules
    mapping_rules = load_demo_rules(db.session)
    if mapping_rules:
        report.added["MappingRule"] += mapping_rules
    meetings = load_meetings_demo(db.session, local(utcnow()).date())
    templates = ensure_default_templates(db.session)
    activities = load_activities_demo(db.session)
    db.session.commit()
    if report.total == 0 and meetings.created_series == 0 and templates == 0 and activities == 0:
        click.echo(_("Demodata fanns redan; inget ändrades."))
        return
    if report.total:
        click.echo(_("Demodata inläst: %(summary)s.", summary=describe_added(report.added)))
    if templates:
        click.echo(
            ngettext("Checklistor inlästa: %(num)d mall.", "Checklistor inlästa: %(num)d mallar.", templates)
        )
    if activities:
        click.echo(
            ngettext("Exempelaktivitet inläst: %(num)d.", "Exempelaktiviteter inlästa: %(num)d.", activities)
        )
    if meetings.created_series:
        click.echo(
            _(
                "Mötesserier inlästa: %(series)s, %(occurrences)s.",
                series=ngettext("%(num)d serie", "%(num)d serier", meetings.created_series),
                occurrences=ngettext("%(num)d tillfälle", "%(num)d tillfällen", meetings.occurrences),
            )
        )
