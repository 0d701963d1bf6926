"""Who receives a notice, and why each person is on the list; the audience rules that
decide it; and the addresses that bounced.

Every feature that mails people about notices (notices today; digests and meeting
invitations later) calls ``resolve`` with a ``NoticeScope``: this package knows the plan,
subscriptions and bounces, and nothing about the caller's models.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session, selectinload

from commsplan.audience.models import AudienceRule
from commsplan.delivery.models import AddressBounce
from commsplan.kinds import NoticeKind, Severity, at_least
from commsplan.kinds.labels import KIND_LABELS, SEVERITY_LABELS
from commsplan.plan.document import Block, Cell, Empty, Section, Table
from commsplan.plan.models import Contact, Recipient, Responsibility, Service, StakeholderGroup, System, Unit
from commsplan.subscriptions.services import digest_only_contact_ids, subscribers_for, unsubscribed_addresses
from commsplan.timeutil import local

# --- what the caller tells us ------------------------------------------------------------


@dataclass(frozen=True)
class ListEdit:
    """The coordinator's own change to a computed list: add (``included``) or remove."""

    email: str
    name: str = ""
    contact_id: int | None = None
    included: bool = True


@dataclass(frozen=True)
class NoticeScope:
    """What resolution needs to know about a notice."""

    kind: NoticeKind
    severity: Severity | None = None
    service_ids: Sequence[int] = ()
    system_ids: Sequence[int] = ()
    group_ids: Sequence[int] = ()
    edits: Sequence[ListEdit] = ()


# --- what we answer ----------------------------------------------------------------------


@dataclass
class ResolvedRecipient:
    email: str
    name: str = ""
    contact_id: int | None = None
    reasons: list[str] = field(default_factory=list)
    included: bool = True
    # Why an address is left out (removed by the coordinator, unsubscribed, bounced).
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

    def leave_out(self, keys: Iterable[str], reason: str) -> None:
        """Keep these addresses on the list, shown as left out with ``reason``."""
        for key in keys:
            entry = self.found.get(key)
            if entry is not None and entry.included:
                entry.included = False
                entry.excluded_reason = reason

    def leave_out_contacts(self, contact_ids: set[int], reason: str) -> None:
        self.leave_out((k for k, e in self.found.items() if e.contact_id in contact_ids), reason)


def included(recipients: list[ResolvedRecipient]) -> list[ResolvedRecipient]:
    return [r for r in recipients if r.included]


# --- resolution --------------------------------------------------------------------------


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


def _followed(kind: NoticeKind) -> str:
    # Kept as gettext calls with literal ids so extraction finds them.
    return {
        NoticeKind.outage: _("driftstörningar"),
        NoticeKind.service_window: _("servicefönster"),
        NoticeKind.release: _("releaser"),
        NoticeKind.general: _("allmän information"),
    }[kind]


def _kind_phrase(kind: NoticeKind, min_severity: Severity | None) -> str:
    """ "driftstörningar (lägst kritisk)", "releaser" …"""
    if kind is NoticeKind.outage and min_severity is not None:
        return _(
            "%(kind)s (lägst %(severity)s)",
            kind=_followed(kind),
            severity=str(SEVERITY_LABELS[min_severity]).lower(),
        )
    return _followed(kind)


def rule_phrase(rule: AudienceRule, system_names: Sequence[str] = ()) -> str:
    """ "följer driftstörningar för alla e-tjänster" and the like, for one rule."""
    what = _kind_phrase(rule.kind, rule.min_severity)
    if rule.own_systems:
        if system_names:
            return _("följer %(kind)s som berör %(systems)s", kind=what, systems=", ".join(system_names))
        return _("följer %(kind)s som berör det egna systemet", kind=what)
    if rule.service is not None:
        return _("följer %(kind)s för %(service)s", kind=what, service=rule.service.name)
    return _("följer %(kind)s för alla e-tjänster", kind=what)


def _touched_systems(scope: NoticeScope, responsibilities: list[Responsibility]) -> set[int]:
    """The systems a notice touches: those it names, or else those its e-services run
    against according to the responsibility table."""
    if scope.system_ids:
        return set(scope.system_ids)
    return {r.system_id for r in responsibilities if r.system_id is not None}


def _matching_rule(
    rules: list[AudienceRule], scope: NoticeScope, own_touched: list[str]
) -> AudienceRule | None:
    """The rule that puts a row on the list, if any: all e-services first, then the own
    system, then one named e-service (the order a coordinator reads as most general)."""
    candidates = [r for r in rules if r.kind is scope.kind]
    if scope.kind is NoticeKind.outage:
        candidates = [r for r in candidates if at_least(scope.severity, r.min_severity)]
    for rule in candidates:
        if rule.service_id is None and not rule.own_systems:
            return rule
    for rule in candidates:
        if rule.own_systems and own_touched:
            return rule
    for rule in candidates:
        if rule.service_id is not None and rule.service_id in scope.service_ids:
            return rule
    return None


def resolve(session: Session, scope: NoticeScope) -> list[ResolvedRecipient]:
    """Everyone who should receive a notice of ``scope``, each with the reasons, sorted by
    name, the left-out ones last.

    Sources: the responsibility table for the affected services and systems, the system
    objects of the systems the notice names, the plan's recipients of information as far
    as their audience rules say, the stakeholder groups chosen for the notice, explicit
    subscriptions; then per-contact exclusions (unsubscribed, bounced); then the
    coordinator's own additions and removals, which win over everything else.
    """
    collector = _Collector()
    service_ids = list(scope.service_ids)
    system_ids = list(scope.system_ids)

    responsibilities: list[Responsibility] = []
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
                .options(
                    selectinload(Responsibility.responsible_unit),
                    selectinload(Responsibility.system),
                    selectinload(Responsibility.service),
                )
                .order_by(Responsibility.position, Responsibility.id)
            )
        )
    named_systems = (
        list(session.scalars(select(System).where(System.id.in_(system_ids)).order_by(System.name)))
        if system_ids
        else []
    )
    recipient_rows = list(
        session.scalars(
            select(Recipient).options(selectinload(Recipient.unit)).order_by(Recipient.position, Recipient.id)
        )
    )
    rules_of: dict[int, list[AudienceRule]] = {}
    for rule in session.scalars(
        select(AudienceRule).options(selectinload(AudienceRule.service)).order_by(AudienceRule.id)
    ):
        rules_of.setdefault(rule.recipient_id, []).append(rule)
    touched = _touched_systems(scope, responsibilities)
    touched_by_unit: dict[int, list[str]] = {}
    if touched:
        for system in session.scalars(select(System).where(System.id.in_(touched)).order_by(System.name)):
            if system.object_unit_id is not None:
                touched_by_unit.setdefault(system.object_unit_id, []).append(system.name)

    unit_ids = {r.responsible_unit_id for r in responsibilities if r.responsible_unit_id}
    unit_ids |= {s.object_unit_id for s in named_systems if s.object_unit_id}
    unit_ids |= {r.unit_id for r in recipient_rows if r.id in rules_of}
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

    for system in named_systems:
        if system.object_unit_id:
            unit = session.get(Unit, system.object_unit_id)
            reason = _(
                "Systemobjekt för %(system)s: %(unit)s", system=system.name, unit=unit.name if unit else ""
            )
            for contact in contacts_of.get(system.object_unit_id, []):
                collector.add_contact(contact, reason)

    for row in recipient_rows:
        own_touched = touched_by_unit.get(row.unit_id, [])
        rule = _matching_rule(rules_of.get(row.id, []), scope, own_touched)
        if rule is None:
            continue
        unit_contacts = contacts_of.get(row.unit_id, [])
        # The plan names a role per unit; prefer the people who hold it.
        holders = [c for c in unit_contacts if c.role.strip().lower() == row.role.strip().lower()]
        reason = _(
            "Mottagare av information: %(unit)s – %(rule)s",
            unit=row.unit.name,
            rule=rule_phrase(rule, own_touched),
        )
        for contact in holders or unit_contacts:
            collector.add_contact(contact, reason)

    if scope.group_ids:
        for group in session.scalars(
            select(StakeholderGroup)
            .where(StakeholderGroup.id.in_(list(scope.group_ids)))
            .options(selectinload(StakeholderGroup.contacts))
            .order_by(StakeholderGroup.position, StakeholderGroup.id)
        ):
            reason = _("Intressentgrupp: %(group)s", group=group.name)
            for contact in group.contacts:
                collector.add_contact(contact, reason)

    subscribers = subscribers_for(session, scope.kind, service_ids, severity=scope.severity)
    # One reason per e-service, not one translation per subscriber: thousands follow a kind.
    reasons: dict[str | None, str] = {}
    for subscriber in subscribers:
        reason = reasons.get(subscriber.service_name)
        if reason is None:
            reason = reasons[subscriber.service_name] = (
                _("Prenumererar på %(service)s", service=subscriber.service_name)
                if subscriber.service_name is not None
                else _("Prenumererar på %(kind)s", kind=str(KIND_LABELS[scope.kind]).lower())
            )
        if subscriber.active:
            collector.add(subscriber.email, subscriber.name, subscriber.contact_id, reason)

    _apply_exclusions(session, collector, scope, {s.contact_id for s in subscribers})
    _apply_edits(collector, scope.edits)
    return sorted(collector.found.values(), key=lambda r: (not r.included, (r.name or r.email).lower()))


def _apply_exclusions(
    session: Session, collector: _Collector, scope: NoticeScope, immediate_subscribers: set[int]
) -> None:
    """Per-contact exclusions: the person stays on the list, shown as left out and why."""
    collector.leave_out(
        unsubscribed_addresses(session, list(collector.found)), _("Har avregistrerat sig från utskicken")
    )
    # Role-based recipients who take releases and general information in their digest;
    # a subscription that wants this notice at once still wins.
    collector.leave_out_contacts(
        digest_only_contact_ids(session, scope.kind) - immediate_subscribers,
        _("Får detta i sin sammanfattning"),
    )
    for key, bounce in bounced_addresses(session, list(collector.found)).items():
        collector.leave_out(
            [key],
            _(
                "Adressen gick inte att leverera till %(when)s: %(answer)s",
                when=local(bounce.bounced_at).strftime("%Y-%m-%d %H:%M"),
                answer=bounce.answer,
            ),
        )


def _apply_edits(collector: _Collector, edits: Sequence[ListEdit]) -> None:
    for edit in edits:
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


# --- the matrix "Mottagare × e-tjänst" -----------------------------------------------------

ALL_SERVICES = "all"
OWN_SYSTEMS = "own"
# A column of the matrix: ALL_SERVICES, OWN_SYSTEMS or a service id.
Column = str | int


@dataclass(frozen=True)
class RuleSpec:
    """One ticked box: ``recipient_id`` follows ``kind`` in ``column``."""

    recipient_id: int
    column: Column
    kind: NoticeKind


@dataclass
class MatrixRow:
    recipient: Recipient
    # Whether the row may follow "own system": its unit is the object of some system.
    has_systems: bool
    system_names: list[str]
    min_severity: Severity | None = None
    ticked: set[tuple[Column, NoticeKind]] = field(default_factory=set)


@dataclass
class Matrix:
    rows: list[MatrixRow]
    services: list[Service]


def _column_of(rule: AudienceRule) -> Column:
    if rule.own_systems:
        return OWN_SYSTEMS
    return rule.service_id if rule.service_id is not None else ALL_SERVICES


def matrix(session: Session) -> Matrix:
    """Every recipient row with the boxes its rules tick, and the e-services as columns."""
    services = list(
        session.scalars(select(Service).where(Service.in_use()).order_by(Service.position, Service.name))
    )
    systems_of: dict[int, list[str]] = {}
    for system in session.scalars(
        select(System).where(System.object_unit_id.is_not(None), System.in_use()).order_by(System.name)
    ):
        systems_of.setdefault(system.object_unit_id or 0, []).append(system.name)
    rows = {
        r.id: MatrixRow(r, r.unit_id in systems_of, systems_of.get(r.unit_id, []))
        for r in session.scalars(
            select(Recipient)
            .join(Recipient.unit)
            .options(selectinload(Recipient.unit))
            .order_by(Recipient.position, Unit.name, Recipient.role)
        )
    }
    for rule in session.scalars(select(AudienceRule).order_by(AudienceRule.id)):
        row = rows.get(rule.recipient_id)
        if row is None:
            continue
        row.ticked.add((_column_of(rule), rule.kind))
        if rule.kind is NoticeKind.outage and rule.min_severity is not None:
            row.min_severity = rule.min_severity
    return Matrix(list(rows.values()), services)


def save_matrix(session: Session, specs: Sequence[RuleSpec], thresholds: dict[int, Severity | None]) -> int:
    """Replace every audience rule by ``specs``; ``thresholds`` holds each row's outage
    threshold. The caller has checked the ids (``parse_matrix``); returns the rule count."""
    session.execute(delete(AudienceRule))
    rules = [
        AudienceRule(
            recipient_id=spec.recipient_id,
            service_id=spec.column if isinstance(spec.column, int) else None,
            own_systems=spec.column == OWN_SYSTEMS,
            kind=spec.kind,
            min_severity=thresholds.get(spec.recipient_id) if spec.kind is NoticeKind.outage else None,
        )
        for spec in specs
    ]
    session.add_all(rules)
    session.flush()
    return len(rules)


def row_summary(row: MatrixRow, services: Sequence[Service]) -> str:
    """What a row receives, in one line: for the plan document."""
    names = {s.id: s.name for s in services}
    parts = []
    for column in [ALL_SERVICES, OWN_SYSTEMS, *names]:
        kinds = [kind for kind in NoticeKind if (column, kind) in row.ticked]
        if not kinds:
            continue
        what = (
            _("alla slags meddelanden")
            if len(kinds) == len(NoticeKind) and row.min_severity is None
            else ", ".join(_kind_phrase(k, row.min_severity) for k in kinds)
        )
        if column == ALL_SERVICES:
            parts.append(_("%(kinds)s för alla e-tjänster", kinds=what))
        elif column == OWN_SYSTEMS:
            parts.append(
                _("%(kinds)s som berör %(systems)s", kinds=what, systems=", ".join(row.system_names))
                if row.system_names
                else _("%(kinds)s som berör det egna systemet", kinds=what)
            )
        else:
            parts.append(_("%(kinds)s för %(service)s", kinds=what, service=names[column]))
    return "; ".join(parts)


# --- bounces -----------------------------------------------------------------------------


def bounced_addresses(session: Session, emails: Iterable[str]) -> dict[str, AddressBounce]:
    """The latest bounce still flagging each of ``emails`` (lower case) that has one."""
    wanted = {e.lower() for e in emails}
    if not wanted:
        return {}
    found: dict[str, AddressBounce] = {}
    # The table holds only problem addresses: reading it whole beats a huge IN list.
    for bounce in session.scalars(
        select(AddressBounce)
        .outerjoin(Contact, Contact.id == AddressBounce.contact_id)
        .where(_still_flagged())
        .order_by(AddressBounce.id)
    ):
        if bounce.email in wanted:
            found[bounce.email] = bounce
    return found


# --- in the plan document ----------------------------------------------------------------


def document_section(session: Session) -> Section:
    """ "Vem får vad": one row per recipient row with what its rules make it receive."""
    current = matrix(session)
    rows = [
        [
            Cell(row.recipient.unit.name, header=True),
            Cell(row.recipient.role),
            Cell(row_summary(row, current.services) or _("Inga meddelanden utifrån planen")),
        ]
        for row in current.rows
    ]
    blocks: list[Block] = (
        [Table([_("Mottagare av information"), _("Roll"), _("Får")], rows, caption=_("Vem får vad"))]
        if rows
        else [Empty(_("Inga mottagare är inlagda."))]
    )
    return Section("vem-far-vad", _("Vem får vad"), blocks)


@dataclass(frozen=True)
class AddressProblem:
    email: str
    answer: str
    bounced_at: datetime
    contact_id: int | None
    contact_name: str


PROBLEMS_PER_PAGE = 50


def _still_flagged() -> Any:
    """Bounces whose address is still the one in use: a contact whose address a
    coordinator corrected is no longer flagged by the old address's bounces."""
    return or_(AddressBounce.contact_id.is_(None), func.lower(Contact.email) == AddressBounce.email)


def address_problems(session: Session, page: int = 1) -> tuple[list[AddressProblem], bool]:
    """One page of flagged addresses, newest bounce first, and whether there is a next page."""
    latest = select(func.max(AddressBounce.id)).group_by(AddressBounce.email)
    rows = session.execute(
        select(AddressBounce, Contact.name)
        .outerjoin(Contact, Contact.id == AddressBounce.contact_id)
        .where(AddressBounce.id.in_(latest), _still_flagged())
        .order_by(AddressBounce.bounced_at.desc(), AddressBounce.id.desc())
        .offset((max(page, 1) - 1) * PROBLEMS_PER_PAGE)
        .limit(PROBLEMS_PER_PAGE + 1)
    ).all()
    problems = [
        AddressProblem(b.email, b.answer, b.bounced_at, b.contact_id, name or "")
        for b, name in rows[:PROBLEMS_PER_PAGE]
    ]
    return problems, len(rows) > PROBLEMS_PER_PAGE


def address_problem(session: Session, email: str) -> AddressBounce | None:
    """The latest bounce that still flags ``email``, if any."""
    return session.scalars(
        select(AddressBounce)
        .outerjoin(Contact, Contact.id == AddressBounce.contact_id)
        .where(AddressBounce.email == email.strip().lower(), _still_flagged())
        .order_by(AddressBounce.id.desc())
        .limit(1)
    ).first()


def clear_address_problem(session: Session, email: str) -> int:
    """The coordinator says the address works again: remove its flag; returns rows removed."""
    result = session.execute(delete(AddressBounce).where(AddressBounce.email == email.strip().lower()))
    return result.rowcount or 0
