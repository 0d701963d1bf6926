"""Demo mapping rules: the national names of the demo plan's e-services and systems.

Idempotent: a rule is matched on its pattern (any case) and its targets, and only missing
ones are added. "Stöd och behandling" deliberately has no rule: the demo then shows an
unmapped item and how a rule is made from it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from commsplan.plan.models import Service, System
from commsplan.relay.rules import MappingRule

JOURNALEN = "Journalen"
WEBBTIDBOK = "Webbtidbok"
BEHORIGHETER = "Behörigheter för primärvård och privata vårdgivare"

# (pattern, service name or None, system name or None, note)
DEMO_RULES: list[tuple[str, str | None, str | None, str]] = [
    ("Journalen", JOURNALEN, None, ""),
    ("1177 Journalen", JOURNALEN, None, ""),
    ("1177 journal", JOURNALEN, None, "Ineras äldre benämning."),
    ("Journal via nätet", JOURNALEN, None, ""),
    ("Webbtidbok", WEBBTIDBOK, None, ""),
    ("Webbtidboken", WEBBTIDBOK, None, ""),
    ("tidbok", WEBBTIDBOK, None, ""),
    ("Tidbokning", WEBBTIDBOK, None, ""),
    ("Bokade tider", WEBBTIDBOK, None, ""),
    ("Behörigheter", BEHORIGHETER, None, ""),
    ("Behörighetsadministration", BEHORIGHETER, None, ""),
    ("Cosmic", None, "Cosmic", ""),
    ("EPJ", None, "EPJ", ""),
    ("T4", None, "T4", ""),
    ("RiS", None, "RiS", ""),
    ("Prosang", None, "Prosang", ""),
    ("MedBild", None, "MedBild", ""),
    ("KST", None, "KST", ""),
    ("RGS", None, "RGS", ""),
    ("Rådgivningsstödet", None, "RGS", ""),
    ("1177 på telefon", None, "1177 på telefon", ""),
    ("Blodcentralen", None, "Blodcentralen", ""),
    ("Folktandvården", None, "Folktandvården", ""),
]


def load_demo_rules(session: Session) -> int:
    """Add the demo rules whose targets exist and that are missing; how many were added."""
    services = {s.name: s for s in session.scalars(select(Service))}
    systems = {s.name: s for s in session.scalars(select(System))}
    existing = {
        (rule.pattern.casefold(), rule.service_id, rule.system_id)
        for rule in session.scalars(select(MappingRule))
    }
    added = 0
    for pattern, service_name, system_name, note in DEMO_RULES:
        service = services.get(service_name) if service_name else None
        system = systems.get(system_name) if system_name else None
        if (service_name and service is None) or (system_name and system is None):
            continue  # the coordinator removed it from the plan: no rule for it
        key = (pattern.casefold(), service.id if service else None, system.id if system else None)
        if key in existing:
            continue
        session.add(MappingRule(pattern=pattern, service=service, system=system, note=note))
        existing.add(key)
        added += 1
    session.flush()
    return added
