"""Create, update, delete and search the plan's entities.

Every function takes an explicit ``session`` and leaves committing to the caller, so a
view can roll back everything if a later step fails. Rules the database would enforce
(unique names, unique e-mail addresses) are checked here first so people get a message
on the right field instead of an IntegrityError.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from commsplan.paging import Page, contains_text, paginate
from commsplan.plan.models import (
    Channel,
    ChannelKind,
    Contact,
    Dependency,
    InformationNeed,
    NeedKind,
    Recipient,
    Responsibility,
    Service,
    StakeholderGroup,
    System,
    Unit,
    UnitKind,
    contact_stakeholder_group,
)
from commsplan.subscriptions.models import self_subscribed_ids

T = TypeVar("T")


class PlanDataError(Exception):
    """Input the plan cannot take; ``field`` names the form field it belongs to, if any."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def _clean(value: str | None) -> str:
    return (value or "").strip()


def _is_taken(session: Session, column: Any, value: str, model: type, current_id: int | None) -> bool:
    # Case-insensitive, so "EPJ" and "epj" cannot both exist as two different things.
    stmt = select(model.id).where(func.lower(column) == value.lower())
    if current_id is not None:
        stmt = stmt.where(model.id != current_id)
    return session.scalar(stmt.limit(1)) is not None


def _unique_name(session: Session, model: type, name: str | None, current: Any, message: str) -> str:
    name = _clean(name)
    if not name:
        raise PlanDataError(_("Ange ett namn."), "name")
    if _is_taken(session, model.name, name, model, current.id if current is not None else None):
        if _is_taken_by_retired(session, model, name):
            raise PlanDataError(
                _("Namnet används av en arkiverad rad. Återställ den under ”Visa arkiverade” i stället."),
                "name",
            )
        raise PlanDataError(message, "name")
    return name


def _is_taken_by_retired(session: Session, model: Any, name: str) -> bool:
    if not hasattr(model, "retired_at"):
        return False
    stmt = select(model.id).where(func.lower(model.name) == name.lower(), model.retired_at.is_not(None))
    return session.scalar(stmt.limit(1)) is not None


def _get(session: Session, model: type[T], ident: int | None, field: str, message: str) -> T | None:
    if ident is None:
        return None
    obj = session.get(model, ident)
    if obj is None:
        raise PlanDataError(message, field)
    return obj


def _next_position(session: Session, column: Any, *where: Any) -> int:
    return (session.scalar(select(func.max(column)).where(*where)) or 0) + 1


def _add(session: Session, obj: T) -> T:
    session.add(obj)
    session.flush()
    return obj


# --- Units -------------------------------------------------------------------------


def list_units(session: Session, kind: UnitKind | None = None) -> Sequence[Unit]:
    stmt = select(Unit).order_by(Unit.kind, Unit.name)
    if kind is not None:
        stmt = stmt.where(Unit.kind == kind)
    return session.scalars(stmt).all()


def unit_counts(session: Session) -> dict[int, tuple[int, int]]:
    """Unit id → (recipients, contacts), counted in the database: a unit of a large
    administration has thousands of contacts, which a list page must not load."""
    recipients = dict(
        session.execute(select(Recipient.unit_id, func.count()).group_by(Recipient.unit_id)).all()
    )
    contacts = dict(
        session.execute(
            select(Contact.unit_id, func.count())
            .where(Contact.unit_id.is_not(None))
            .group_by(Contact.unit_id)
        ).all()
    )
    return {
        unit_id: (recipients.get(unit_id, 0), contacts.get(unit_id, 0)) for unit_id in recipients | contacts
    }


def save_unit(
    session: Session, unit: Unit | None, *, name: str, kind: UnitKind, description: str = ""
) -> Unit:
    name = _unique_name(session, Unit, name, unit, _("Det finns redan en enhet med det namnet."))
    unit = unit or Unit()
    unit.name, unit.kind, unit.description = name, kind, _clean(description)
    return _add(session, unit)


def unit_systems(session: Session, unit: Unit) -> Sequence[System]:
    return session.scalars(select(System).where(System.object_unit_id == unit.id).order_by(System.name)).all()


def unit_responsibilities(session: Session, unit: Unit) -> Sequence[Responsibility]:
    stmt = (
        select(Responsibility)
        .join(Responsibility.service)
        .where(Responsibility.responsible_unit_id == unit.id)
    )
    return session.scalars(stmt.order_by(Service.position, Service.name, Responsibility.position)).all()


# --- Channels ------------------------------------------------------------------------


def list_channels(session: Session) -> Sequence[Channel]:
    return session.scalars(select(Channel).order_by(Channel.name)).all()


def save_channel(
    session: Session,
    channel: Channel | None,
    *,
    name: str,
    kind: ChannelKind,
    address: str = "",
    audience: str = "",
    description: str = "",
) -> Channel:
    name = _unique_name(session, Channel, name, channel, _("Det finns redan en kanal med det namnet."))
    channel = channel or Channel()
    channel.name, channel.kind = name, kind
    channel.address, channel.audience, channel.description = (
        _clean(address),
        _clean(audience),
        _clean(description),
    )
    return _add(session, channel)


def channel_blockers(session: Session, channel: Channel) -> list[str]:
    recipients = session.scalars(select(Recipient).where(Recipient.channel_id == channel.id))
    blockers = [_("Mottagare: %(name)s", name=recipient_label(r)) for r in recipients]
    rows = session.scalars(select(Responsibility).where(Responsibility.channel_id == channel.id))
    blockers += [_("Ansvarsrad: %(name)s", name=responsibility_label(r)) for r in rows]
    return blockers


# --- Stakeholder groups ------------------------------------------------------------------


def _retired(model: Any, retired: bool) -> Any:
    return model.retired_at.is_not(None) if retired else model.in_use()


def list_stakeholder_groups(session: Session, *, retired: bool = False) -> Sequence[StakeholderGroup]:
    """The groups in use (for lists and pickers), or the retired ones (the archive)."""
    stmt = (
        select(StakeholderGroup)
        .where(_retired(StakeholderGroup, retired))
        .options(selectinload(StakeholderGroup.needs))
    )
    return session.scalars(stmt.order_by(StakeholderGroup.position, StakeholderGroup.name)).all()


def group_contact_counts(session: Session) -> dict[int, int]:
    """Stakeholder group id → how many contacts it has, counted in the database."""
    per_group = select(contact_stakeholder_group.c.group_id, func.count()).group_by(
        contact_stakeholder_group.c.group_id
    )
    return dict(session.execute(per_group).tuples().all())


def split_needs(text: str | None) -> list[str]:
    """One need per line; blank lines and list markers people paste in are dropped."""
    needs = []
    for line in (text or "").splitlines():
        line = line.strip().lstrip("•-–*").strip()
        if line:
            needs.append(line)
    return needs


def save_stakeholder_group(
    session: Session,
    group: StakeholderGroup | None,
    *,
    name: str,
    need_kind: NeedKind,
    needs: Iterable[str],
    description: str = "",
    position: int | None = None,
) -> StakeholderGroup:
    name = _unique_name(
        session, StakeholderGroup, name, group, _("Det finns redan en intressentgrupp med det namnet.")
    )
    if group is None:
        group = StakeholderGroup()
        if position is None:
            position = _next_position(session, StakeholderGroup.position)
    group.name, group.need_kind, group.description = name, need_kind, _clean(description)
    if position is not None:
        group.position = position
    texts = [t.strip() for t in needs if t.strip()]
    # Reuse the rows that exist so their ids stay stable; the list order is the position.
    existing = list(group.needs)
    for index, text in enumerate(texts):
        if index < len(existing):
            existing[index].text, existing[index].position = text, index + 1
        else:
            group.needs.append(InformationNeed(text=text, position=index + 1))
    for extra in existing[len(texts) :]:
        group.needs.remove(extra)
    return _add(session, group)


# --- Recipients ------------------------------------------------------------------------


def recipient_label(recipient: Recipient) -> str:
    return f"{recipient.unit.name} – {recipient.role}"


@dataclass(frozen=True)
class RecipientFilter:
    text: str = ""
    unit_kind: UnitKind | None = None


def search_recipients(session: Session, filters: RecipientFilter) -> Sequence[Recipient]:
    stmt = (
        select(Recipient)
        .join(Recipient.unit)
        .outerjoin(Recipient.channel)
        .options(selectinload(Recipient.unit), selectinload(Recipient.channel))
        .order_by(Unit.kind, Recipient.position, Unit.name, Recipient.role)
    )
    if filters.unit_kind is not None:
        stmt = stmt.where(Unit.kind == filters.unit_kind)
    text = _clean(filters.text)
    if text:
        columns = (Unit.name, Recipient.role, Recipient.contact_route, Channel.name)
        stmt = stmt.where(contains_text(session, text, *columns))
    return session.scalars(stmt).all()


def save_recipient(
    session: Session,
    recipient: Recipient | None,
    *,
    unit_id: int,
    role: str,
    channel_id: int | None = None,
    contact_route: str = "",
    position: int | None = None,
) -> Recipient:
    unit = _get(session, Unit, unit_id, "unit_id", _("Enheten finns inte."))
    if unit is None:
        raise PlanDataError(_("Välj en enhet."), "unit_id")
    channel = _get(session, Channel, channel_id, "channel_id", _("Kanalen finns inte."))
    role = _clean(role)
    if not role:
        raise PlanDataError(_("Ange en roll."), "role")
    duplicate = select(Recipient.id).where(
        Recipient.unit_id == unit.id, func.lower(Recipient.role) == role.lower()
    )
    if recipient is not None:
        duplicate = duplicate.where(Recipient.id != recipient.id)
    if session.scalar(duplicate.limit(1)) is not None:
        raise PlanDataError(_("%(unit)s har redan en mottagare med den rollen.", unit=unit.name), "role")
    if recipient is None:
        recipient = Recipient()
        if position is None:
            position = _next_position(session, Recipient.position)
    recipient.unit, recipient.role, recipient.channel = unit, role, channel
    recipient.contact_route = _clean(contact_route)
    if position is not None:
        recipient.position = position
    return _add(session, recipient)


# --- Contacts ------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactFilter:
    text: str = ""
    unit_id: int | None = None
    group_id: int | None = None
    active: bool | None = None
    # True: only people who signed up themselves on /subscribe.
    self_subscribed: bool | None = None


def search_contacts(
    session: Session, filters: ContactFilter, page: int = 1, per_page: int = 50
) -> Page[Contact]:
    stmt = select(Contact).options(selectinload(Contact.unit), selectinload(Contact.groups))
    text = _clean(filters.text)
    if text:
        stmt = stmt.where(contains_text(session, text, Contact.name, Contact.email, Contact.role))
    if filters.unit_id is not None:
        stmt = stmt.where(Contact.unit_id == filters.unit_id)
    if filters.group_id is not None:
        stmt = stmt.where(Contact.groups.any(StakeholderGroup.id == filters.group_id))
    if filters.active is not None:
        stmt = stmt.where(Contact.active.is_(filters.active))
    if filters.self_subscribed:
        stmt = stmt.where(Contact.id.in_(self_subscribed_ids()))
    return paginate(session, stmt.order_by(Contact.name, Contact.id), page, per_page)


def normalise_email(email: str | None) -> str:
    return _clean(email).lower()


def save_contact(
    session: Session,
    contact: Contact | None,
    *,
    name: str,
    email: str,
    phone: str = "",
    unit_id: int | None = None,
    role: str = "",
    language: str = "sv",
    active: bool = True,
    group_ids: Iterable[int] = (),
) -> Contact:
    name = _clean(name)
    if not name:
        raise PlanDataError(_("Ange ett namn."), "name")
    email = normalise_email(email)
    if not email:
        raise PlanDataError(_("Ange en e-postadress."), "email")
    if _is_taken(session, Contact.email, email, Contact, contact.id if contact is not None else None):
        raise PlanDataError(
            _("Det finns redan en kontakt med e-postadressen %(email)s.", email=email), "email"
        )
    if language not in ("sv", "en"):
        raise PlanDataError(_("Välj svenska eller engelska."), "language")
    unit = _get(session, Unit, unit_id, "unit_id", _("Enheten finns inte."))
    ids = sorted(set(group_ids))
    groups = (
        session.scalars(select(StakeholderGroup).where(StakeholderGroup.id.in_(ids))).all() if ids else []
    )
    if len(groups) != len(ids):
        raise PlanDataError(_("En av intressentgrupperna finns inte."), "group_ids")
    contact = contact or Contact()
    contact.name, contact.email, contact.phone = name, email, _clean(phone)
    contact.unit, contact.role, contact.language, contact.active = unit, _clean(role), language, active
    contact.groups = sorted(groups, key=lambda g: (g.position, g.name))
    return _add(session, contact)


# --- Systems ------------------------------------------------------------------------


def list_systems(session: Session, *, retired: bool = False) -> Sequence[System]:
    stmt = (
        select(System)
        .where(_retired(System, retired))
        .options(selectinload(System.object_unit))
        .order_by(System.name)
    )
    return session.scalars(stmt).all()


def save_system(
    session: Session,
    system: System | None,
    *,
    name: str,
    object_unit_id: int | None = None,
    description: str = "",
) -> System:
    name = _unique_name(session, System, name, system, _("Det finns redan ett system med det namnet."))
    unit = _get(session, Unit, object_unit_id, "object_unit_id", _("Enheten finns inte."))
    system = system or System()
    system.name, system.object_unit, system.description = name, unit, _clean(description)
    return _add(session, system)


def system_responsibilities(session: Session, system: System) -> Sequence[Responsibility]:
    stmt = select(Responsibility).join(Responsibility.service).where(Responsibility.system_id == system.id)
    return session.scalars(stmt.order_by(Service.position, Service.name)).all()


def system_dependencies(session: Session, system: System) -> Sequence[Dependency]:
    stmt = select(Dependency).outerjoin(Dependency.service).where(Dependency.system_id == system.id)
    return session.scalars(stmt.order_by(Service.name.nulls_first())).all()


# --- Services and the responsibility table ----------------------------------------------


def list_services(session: Session, *, retired: bool = False) -> Sequence[Service]:
    stmt = (
        select(Service)
        .where(_retired(Service, retired))
        .options(selectinload(Service.responsibilities))
        .order_by(Service.position, Service.name)
    )
    return session.scalars(stmt).all()


def save_service(
    session: Session,
    service: Service | None,
    *,
    name: str,
    description: str = "",
    position: int | None = None,
) -> Service:
    name = _unique_name(session, Service, name, service, _("Det finns redan en e-tjänst med det namnet."))
    if service is None:
        service = Service()
        if position is None:
            position = _next_position(session, Service.position)
    service.name, service.description = name, _clean(description)
    if position is not None:
        service.position = position
    return _add(session, service)


def service_dependencies(session: Session, service: Service) -> Sequence[Dependency]:
    stmt = select(Dependency).join(Dependency.system).where(Dependency.service_id == service.id)
    return session.scalars(stmt.order_by(System.name)).all()


def responsibility_label(row: Responsibility) -> str:
    system = row.system.name if row.system is not None else _("utan system")
    return f"{row.service.name} × {system}"


def save_responsibility(
    session: Session,
    row: Responsibility | None,
    *,
    service: Service,
    system_id: int | None = None,
    responsible_unit_id: int | None = None,
    channel_id: int | None = None,
    contact_route: str = "",
    comment: str = "",
    position: int | None = None,
) -> Responsibility:
    system = _get(session, System, system_id, "system_id", _("Systemet finns inte."))
    unit = _get(session, Unit, responsible_unit_id, "responsible_unit_id", _("Enheten finns inte."))
    channel = _get(session, Channel, channel_id, "channel_id", _("Kanalen finns inte."))
    # The unique constraint does not catch two rows without a system (NULLs differ), so check here.
    duplicate = select(Responsibility.id).where(
        Responsibility.service_id == service.id,
        Responsibility.system_id.is_(None) if system is None else Responsibility.system_id == system.id,
    )
    if row is not None:
        duplicate = duplicate.where(Responsibility.id != row.id)
    if session.scalar(duplicate.limit(1)) is not None:
        raise PlanDataError(_("E-tjänsten har redan en ansvarsrad för det systemet."), "system_id")
    if row is None:
        # Position first: the new row joins service.responsibilities at once, and a query
        # would then autoflush it half-made.
        if position is None:
            position = _next_position(
                session, Responsibility.position, Responsibility.service_id == service.id
            )
        row = Responsibility(service=service)
    row.system, row.responsible_unit, row.channel = system, unit, channel
    row.contact_route, row.comment = _clean(contact_route), _clean(comment)
    if position is not None:
        row.position = position
    return _add(session, row)


# --- Dependencies ------------------------------------------------------------------------


def dependency_label(dependency: Dependency) -> str:
    service = dependency.service.name if dependency.service is not None else _("Alla e-tjänster")
    return f"{service} → {dependency.system.name}"


def list_dependencies(session: Session) -> Sequence[Dependency]:
    stmt = (
        select(Dependency)
        .join(Dependency.system)
        .outerjoin(Dependency.service)
        .order_by(Service.name.nulls_first(), System.name)
    )
    return session.scalars(stmt).all()


def shared_dependencies(session: Session) -> Sequence[Dependency]:
    """Dependencies of the e-services as a whole, which every single service shares."""
    stmt = select(Dependency).join(Dependency.system).where(Dependency.service_id.is_(None))
    return session.scalars(stmt.order_by(System.name)).all()


def save_dependency(
    session: Session, dependency: Dependency | None, *, service_id: int | None, system_id: int, note: str = ""
) -> Dependency:
    service = _get(session, Service, service_id, "service_id", _("E-tjänsten finns inte."))
    system = _get(session, System, system_id, "system_id", _("Systemet finns inte."))
    if system is None:
        raise PlanDataError(_("Välj ett system."), "system_id")
    duplicate = select(Dependency.id).where(
        Dependency.system_id == system.id,
        Dependency.service_id.is_(None) if service is None else Dependency.service_id == service.id,
    )
    if dependency is not None:
        duplicate = duplicate.where(Dependency.id != dependency.id)
    if session.scalar(duplicate.limit(1)) is not None:
        raise PlanDataError(_("Beroendet finns redan."), "system_id")
    dependency = dependency or Dependency()
    dependency.service, dependency.system, dependency.note = service, system, _clean(note)
    return _add(session, dependency)
