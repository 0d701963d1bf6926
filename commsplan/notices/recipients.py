"""Who receives a notice, and why each person is on the list."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from commsplan.notices.labels import KIND_LABELS
from commsplan.notices.models import Notice
from commsplan.plan.models import Contact, Recipient, Responsibility, Unit


@dataclass
class ResolvedRecipient:
    email: str
    name: str = ""
    contact_id: int | None = None
    reasons: list[str] = field(default_factory=list)
    included: bool = True
    # Why an address is left out (removed by the coordinator, unsubscribed).
    excluded_reason: str = ""
    manual: bool = False

    @property
    def key(self) -> str:
        return self.email.lower()


class _Collector:
    def __init__(self) -> None:
        self.found: dict[str, ResolvedRecipient] = {}

    def add(self, email: str, name: str, contact_id: int | None, reason: str) -> ResolvedRecipient:
        key = email.strip().lower()
        entry = self.found.get(key)
        if entry is None:
            entry = ResolvedRecipient(email=email.strip(), name=name, contact_id=contact_id)
            self.found[key] = entry
        if contact_id is not None and entry.contact_id is None:
            entry.contact_id = contact_id
            entry.name = entry.name or name
        if reason and reason not in entry.reasons:
            entry.reasons.append(reason)
        return entry

    def add_contact(self, contact: Any, reason: str) -> None:
        if contact.active:
            self.add(contact.email, contact.name, contact.id, reason)


def _unit_contacts(session: Session, unit_ids: set[int]) -> dict[int, list[Any]]:
    """Active contacts per unit as light rows (id, email, name, role, active): a unit may
    hold thousands of people and full ORM objects would dominate publishing time."""
    by_unit: dict[int, list[Any]] = {uid: [] for uid in unit_ids}
    if not unit_ids:
        return by_unit
    rows = session.execute(
        select(Contact.id, Contact.email, Contact.name, Contact.role, Contact.active, Contact.unit_id)
        .where(Contact.unit_id.in_(unit_ids), Contact.active.is_(True))
        .order_by(Contact.name)
    )
    for row in rows:
        by_unit[row.unit_id].append(row)
    return by_unit


def resolve_recipients(session: Session, notice: Notice) -> list[ResolvedRecipient]:
    """Everyone who should receive ``notice``, each with the reasons, sorted by name.

    Sources: the responsibility table for the affected services and systems, the system
    objects of affected systems, the plan's recipients of information, the stakeholder
    groups chosen for the notice, explicit subscriptions, then the coordinator's own
    additions and removals. Addresses that unsubscribed are listed but left out.
    """
    from commsplan.subscriptions.services import (
        digest_only_contact_ids,
        subscribers_for,
        unsubscribed_addresses,
    )

    collector = _Collector()
    service_ids = [s.id for s in notice.services]
    system_ids = [s.id for s in notice.systems]

    responsibilities = []
    if service_ids or system_ids:
        responsibilities = list(
            session.scalars(
                select(Responsibility)
                .where(
                    or_(
                        Responsibility.service_id.in_(service_ids),
                        Responsibility.system_id.in_(system_ids),
                    )
                )
                .options(selectinload(Responsibility.responsible_unit), selectinload(Responsibility.system))
                .order_by(Responsibility.position, Responsibility.id)
            )
        )
    recipient_rows = list(
        session.scalars(
            select(Recipient).options(selectinload(Recipient.unit)).order_by(Recipient.position, Recipient.id)
        )
    )
    unit_ids = {r.responsible_unit_id for r in responsibilities if r.responsible_unit_id}
    unit_ids |= {s.object_unit_id for s in notice.systems if s.object_unit_id}
    unit_ids |= {r.unit_id for r in recipient_rows}
    contacts_of = _unit_contacts(session, unit_ids)

    for row in responsibilities:
        if row.responsible_unit is None:
            continue
        target = row.service.name + (f" / {row.system.name}" if row.system else "")
        reason = _(
            "Ansvarig enligt ansvarstabellen: %(unit)s för %(target)s",
            unit=row.responsible_unit.name,
            target=target,
        )
        for contact in contacts_of.get(row.responsible_unit.id, []):
            collector.add_contact(contact, reason)

    for system in notice.systems:
        if system.object_unit_id:
            unit = session.get(Unit, system.object_unit_id)
            reason = _(
                "Systemobjekt för %(system)s: %(unit)s", system=system.name, unit=unit.name if unit else ""
            )
            for contact in contacts_of.get(system.object_unit_id, []):
                collector.add_contact(contact, reason)

    for row in recipient_rows:
        unit_contacts = contacts_of.get(row.unit_id, [])
        # The plan names a role per unit; prefer the people who hold it.
        holders = [c for c in unit_contacts if c.role.strip().lower() == row.role.strip().lower()]
        reason = _("Mottagare av information: %(unit)s (%(role)s)", unit=row.unit.name, role=row.role)
        for contact in holders or unit_contacts:
            collector.add_contact(contact, reason)

    for group in notice.groups:
        reason = _("Intressentgrupp: %(group)s", group=group.name)
        for contact in group.contacts:
            collector.add_contact(contact, reason)

    subscriptions = subscribers_for(session, notice.kind, service_ids, severity=notice.severity)
    for subscription in subscriptions:
        if subscription.service is not None:
            reason = _("Prenumererar på %(service)s", service=subscription.service.name)
        else:
            reason = _("Prenumererar på %(kind)s", kind=str(KIND_LABELS[notice.kind]).lower())
        collector.add_contact(subscription.contact, reason)

    unsubscribed = unsubscribed_addresses(session, list(collector.found))
    for key in unsubscribed:
        entry = collector.found[key]
        entry.included = False
        entry.excluded_reason = _("Har avregistrerat sig från utskicken")

    # Role-based recipients who take releases and general information in their digest;
    # a subscription that wants this notice at once still wins.
    digest_only = digest_only_contact_ids(session, notice.kind) - {s.contact_id for s in subscriptions}
    for entry in collector.found.values():
        if entry.included and entry.contact_id in digest_only:
            entry.included = False
            entry.excluded_reason = _("Får detta i sin sammanfattning")

    for edit in notice.audience_edits:
        if edit.included:
            entry = collector.add(edit.email, edit.name, edit.contact_id, _("Tillagd av samordnare"))
            entry.included = True
            entry.excluded_reason = ""
            entry.manual = True
        elif edit.email in collector.found:
            entry = collector.found[edit.email]
            entry.included = False
            entry.excluded_reason = _("Borttagen av samordnare")
            entry.manual = True

    return sorted(collector.found.values(), key=lambda r: (not r.included, (r.name or r.email).lower()))


def included(recipients: list[ResolvedRecipient]) -> list[ResolvedRecipient]:
    return [r for r in recipients if r.included]
