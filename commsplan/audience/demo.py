"""The demo's audience rules (*vem får vad*), set from Region Uppsala's plan.

- Care-giving administrations, private providers and ITC (which runs the e-services)
  follow every kind of notice for every e-service.
- System objects follow every kind of notice that touches their own system (Listning och
  ersättning owns no system in the demo and so gets nothing from the plan).
- Patientnämnden, Smittskyddsenheten, CESÅ, Patientadministration, Barnombudsmannen and
  Barnskyddsteamet follow releases and general information for the e-services that
  concern them: Journalen (what residents and guardians can read in the record) for all
  of them, and also Webbtidbok for Patientnämnden, Smittskyddsenheten (vaccination and
  test bookings) and Patientadministration.
- Kommunikation follows releases for every e-service and outages of the highest severity.

Idempotent: a row that already has rules (the demo's or a coordinator's) is left alone.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from commsplan.audience.models import AudienceRule
from commsplan.kinds import NoticeKind, Severity
from commsplan.plan.models import Recipient, Service, System, Unit, UnitKind

ALL = tuple(NoticeKind)
INFORMATION = (NoticeKind.release, NoticeKind.general)

CARE_GIVERS = [
    "Nära vård och hälsa",
    "Akademiska sjukhuset",
    "Lasarettet i Enköping",
    "Privata vårdgivare",
    "Privata specialister",
    "ITC",
]

# unit -> the e-services whose releases and general information concern it
CONCERNED: dict[str, list[str]] = {
    "Patientnämnden": ["Journalen", "Webbtidbok"],
    "Smittskyddsenheten": ["Journalen", "Webbtidbok"],
    "CESÅ": ["Journalen"],
    "Patientadministration": ["Journalen", "Webbtidbok"],
    "Barnombudsmannen": ["Journalen"],
    "Barnskyddsteamet": ["Journalen"],
}

COMMUNICATION = "Kommunikation"


def _rules_for(recipient: Recipient, services: dict[str, Service], owners: set[int]) -> list[AudienceRule]:
    unit = recipient.unit
    if unit.name in CARE_GIVERS:
        return [AudienceRule(recipient=recipient, kind=kind) for kind in ALL]
    if unit.name in CONCERNED:
        return [
            AudienceRule(recipient=recipient, kind=kind, service=services[name])
            for name in CONCERNED[unit.name]
            if name in services
            for kind in INFORMATION
        ]
    if unit.name == COMMUNICATION:
        return [
            AudienceRule(recipient=recipient, kind=NoticeKind.release),
            AudienceRule(recipient=recipient, kind=NoticeKind.outage, min_severity=Severity.critical),
        ]
    if unit.kind is UnitKind.system_object and unit.id in owners:
        return [AudienceRule(recipient=recipient, kind=kind, own_systems=True) for kind in ALL]
    return []


def load_audience_demo(session: Session) -> int:
    """Add the demo's rules to recipient rows that have none; returns how many were added."""
    services = {s.name: s for s in session.scalars(select(Service))}
    owners = set(session.scalars(select(System.object_unit_id).where(System.object_unit_id.is_not(None))))
    with_rules = set(session.scalars(select(AudienceRule.recipient_id).distinct()))
    added = 0
    for recipient in session.scalars(select(Recipient).join(Unit).order_by(Recipient.position, Recipient.id)):
        if recipient.id in with_rules:
            continue
        rules = _rules_for(recipient, services, owners)
        session.add_all(rules)
        added += len(rules)
    session.flush()
    return added
