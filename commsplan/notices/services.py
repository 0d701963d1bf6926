"""Notice lifecycle: drafts, publishing through the outbox, updates, the service-window
schedule and the public status. Functions take an explicit session and never commit,
except ``run_schedule`` which commits one scheduled mail at a time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, String, Table, and_, bindparam, cast, delete, func, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from commsplan.audience.services import ListEdit, NoticeScope, ResolvedRecipient, included, resolve
from commsplan.auth.models import User
from commsplan.delivery.models import DeliveryState, OutboxItem, OutgoingMessage
from commsplan.delivery.services import Addressee, enqueue
from commsplan.httpcache import PublicVersion, latest
from commsplan.languages import DEFAULT_LANGUAGE, MAIL_LANGUAGES, contact_languages
from commsplan.notices.checks import run_publish_checks
from commsplan.notices.mail import build_message, one_line
from commsplan.notices.models import (
    AudienceEdit,
    Notice,
    NoticeKind,
    NoticeStatus,
    NoticeUpdate,
    OutageState,
    ScheduleEvent,
    Severity,
    UpdateKind,
    notice_service,
)
from commsplan.plan.models import Contact, Service, StakeholderGroup, System
from commsplan.subscriptions.services import notice_mail_links
from commsplan.timeutil import STOCKHOLM, utcnow, working_days_before
from commsplan.wording.services import GroupWording, choose, groups_of_contacts, wordings_for_notice

SCHEDULER_NAME = "Schemaläggaren"


class NoticeError(ValueError):
    """A change the notice's state does not allow; ``field`` names the input at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class NoticeData:
    """The editable fields of a notice, as parsed by a form or the API."""

    kind: NoticeKind
    title: str
    body_markdown: str = ""
    title_en: str = ""
    body_markdown_en: str = ""
    severity: Severity | None = None
    outage_state: OutageState | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    release_date: date | None = None
    version: str = ""
    changes_for_staff: str = ""
    changes_for_residents: str = ""
    reminder_minutes: int | None = None
    service_ids: list[int] = field(default_factory=list)
    system_ids: list[int] = field(default_factory=list)
    group_ids: list[int] = field(default_factory=list)


# --- drafts ------------------------------------------------------------------------------


def _by_ids(session: Session, model: type, ids: list[int], field_name: str) -> list[Any]:
    if not ids:
        return []
    # A retired service, system or group is only named by old notices, never chosen anew.
    rows = list(session.scalars(select(model).where(model.id.in_(ids), model.in_use())))
    if len(rows) != len(set(ids)):
        raise NoticeError(_("Okänt val bland %(field)s.", field=field_name), field_name)
    return rows


def ids_by_names(session: Session, model: type, names: list[str], field_name: str) -> list[int]:
    """Ids of the rows called ``names`` (case-insensitive), for callers that know names."""
    ids = []
    for name in names:
        row = session.scalar(
            select(model).where(func.lower(model.name) == name.strip().lower(), model.in_use())
        )
        if row is None:
            raise NoticeError(_("Okänt namn: %(name)s.", name=name), field_name)
        ids.append(row.id)
    return ids


def _check_times(data: NoticeData) -> None:
    window = data.kind is NoticeKind.service_window
    if window and data.starts_at and data.ends_at and data.ends_at <= data.starts_at:
        raise NoticeError(_("Slutet måste ligga efter starten."), "ends_at")
    if data.kind is NoticeKind.outage and data.starts_at and data.ends_at and data.ends_at < data.starts_at:
        raise NoticeError(_("Slutet kan inte ligga före starten."), "ends_at")
    if data.reminder_minutes is not None and data.reminder_minutes < 0:
        raise NoticeError(_("Påminnelsen måste ligga före starten."), "reminder_minutes")


def _apply(session: Session, notice: Notice, data: NoticeData) -> None:
    title = one_line(data.title)
    if not title:
        raise NoticeError(_("Ange en rubrik."), "title")
    _check_times(data)
    notice.kind = data.kind
    notice.title = title[:200]
    notice.body_markdown = data.body_markdown or ""
    notice.title_en = one_line(data.title_en)[:200]
    notice.body_markdown_en = data.body_markdown_en or ""
    notice.severity = data.severity if data.kind is NoticeKind.outage else None
    notice.outage_state = (
        (data.outage_state or OutageState.investigating) if data.kind is NoticeKind.outage else None
    )
    notice.starts_at = data.starts_at if data.kind in (NoticeKind.service_window, NoticeKind.outage) else None
    notice.ends_at = data.ends_at if data.kind in (NoticeKind.service_window, NoticeKind.outage) else None
    notice.release_date = data.release_date if data.kind is NoticeKind.release else None
    notice.version = one_line(data.version) if data.kind is NoticeKind.release else ""
    notice.changes_for_staff = data.changes_for_staff if data.kind is NoticeKind.release else ""
    notice.changes_for_residents = data.changes_for_residents if data.kind is NoticeKind.release else ""
    notice.reminder_minutes = data.reminder_minutes if data.kind is NoticeKind.service_window else None
    notice.services = _by_ids(session, Service, data.service_ids, "services")
    notice.systems = _by_ids(session, System, data.system_ids, "systems")
    notice.groups = _by_ids(session, StakeholderGroup, data.group_ids, "groups")


def create_draft(session: Session, data: NoticeData, author: User | None) -> Notice:
    notice = Notice(kind=data.kind, title="", status=NoticeStatus.draft, created_by=author)
    _apply(session, notice, data)
    session.add(notice)
    session.flush()
    return notice


def update_draft(session: Session, notice: Notice, data: NoticeData) -> Notice:
    if not notice.is_draft:
        raise NoticeError(_("Ett publicerat meddelande ändras genom uppdateringar, inte i efterhand."))
    _apply(session, notice, data)
    session.flush()
    return notice


def delete_draft(session: Session, notice: Notice) -> None:
    if not notice.is_draft:
        raise NoticeError(_("Bara utkast kan tas bort. Ställ in eller avsluta meddelandet i stället."))
    session.delete(notice)
    session.flush()


@dataclass(frozen=True)
class NoticeRow:
    """A notice as the list page shows it."""

    id: int
    title: str
    kind: NoticeKind
    status: NoticeStatus
    created_at: datetime
    service_names: list[str]


def linked_to_notices(
    session: Session,
    link: Table,
    column: str,
    target: type[Service | StakeholderGroup],
    notice_ids: Sequence[int],
) -> dict[int, list[tuple[int, str]]]:
    """(id, name) of the e-services or groups (``link``: ``notice_service`` or
    ``notice_group``) of each notice, in the plan's order, without loading the notices."""
    found: dict[int, list[tuple[int, str]]] = {}
    if not notice_ids:
        return found
    rows = session.execute(
        select(link.c.notice_id, target.id, target.name)
        .join(target, target.id == link.c[column])
        .where(link.c.notice_id.in_(notice_ids))
        .order_by(target.position, target.id)
    )
    for notice_id, target_id, name in rows:
        found.setdefault(notice_id, []).append((target_id, name))
    return found


def _latest_notices(
    query: Select[Any], kind: NoticeKind | None, status: NoticeStatus | None, limit: int
) -> Select[Any]:
    """The notice list's filter and order: newest first, of one kind or status if given."""
    query = query.order_by(Notice.created_at.desc(), Notice.id.desc())
    if kind is not None:
        query = query.where(Notice.kind == kind)
    if status is not None:
        query = query.where(Notice.status == status)
    return query.limit(limit)


def notice_rows(
    session: Session, kind: NoticeKind | None = None, status: NoticeStatus | None = None, limit: int = 200
) -> list[NoticeRow]:
    """The latest notices for the list page, newest first, as the columns it shows and the
    names of their e-services: 200 whole notices with their Service objects cost three
    times as much as the SQL that finds them."""
    columns = select(Notice.id, Notice.title, Notice.kind, Notice.status, Notice.created_at)
    found = session.execute(_latest_notices(columns, kind, status, limit)).all()
    services_of = linked_to_notices(session, notice_service, "service_id", Service, [row.id for row in found])
    return [
        NoticeRow(*row, service_names=[name for _id, name in services_of.get(row.id, [])]) for row in found
    ]


def list_notices(
    session: Session, kind: NoticeKind | None = None, status: NoticeStatus | None = None, limit: int = 200
) -> list[Notice]:
    query = select(Notice).options(selectinload(Notice.services))
    return list(session.scalars(_latest_notices(query, kind, status, limit)))


def missing_for_publish(notice: Notice) -> dict[str, str]:
    """Fields that must be filled in before ``notice`` can go out, with a message each."""
    missing: dict[str, str] = {}
    if notice.kind is NoticeKind.service_window:
        if notice.starts_at is None:
            missing["starts_at"] = _("Ange när servicefönstret börjar.")
        if notice.ends_at is None:
            missing["ends_at"] = _("Ange när servicefönstret slutar.")
    elif notice.kind is NoticeKind.outage:
        if notice.severity is None:
            missing["severity"] = _("Ange allvarlighetsgrad.")
    elif notice.kind is NoticeKind.release:
        if not notice.version:
            missing["version"] = _("Ange version.")
        if notice.release_date is None:
            missing["release_date"] = _("Ange releasedatum.")
    return missing


def publish_blockers(session: Session, notice: Notice) -> dict[str, str]:
    """Everything that stops ``notice`` going out: its own fields, then the checks other
    features registered (see ``notices.checks``)."""
    return {**missing_for_publish(notice), **run_publish_checks(session, notice)}


# --- recipients --------------------------------------------------------------------------


def audience_scope(notice: Notice) -> NoticeScope:
    """What recipient resolution needs to know about ``notice``."""
    return NoticeScope(
        kind=notice.kind,
        severity=notice.severity,
        service_ids=[s.id for s in notice.services],
        system_ids=[s.id for s in notice.systems],
        group_ids=[g.id for g in notice.groups],
        edits=[ListEdit(e.email, e.name, e.contact_id, e.included) for e in notice.audience_edits],
    )


def recipients(session: Session, notice: Notice) -> list[ResolvedRecipient]:
    return resolve(session, audience_scope(notice))


def add_recipient(session: Session, notice: Notice, email: str, name: str = "") -> AudienceEdit:
    """Put an address on the list; a known contact is recognised by its address."""
    key = email.strip().lower()
    if "@" not in key or any(c.isspace() for c in key) or len(key) > 254:
        raise NoticeError(_("Ange en giltig e-postadress."), "email")
    contact = session.scalar(select(Contact).where(func.lower(Contact.email) == key))
    edit = session.scalar(
        select(AudienceEdit).where(AudienceEdit.notice_id == notice.id, AudienceEdit.email == key)
    )
    if edit is None:
        edit = AudienceEdit(notice=notice, email=key)
        session.add(edit)
    edit.included = True
    edit.name = one_line(name) or (contact.name if contact else "")
    edit.contact_id = contact.id if contact else None
    session.flush()
    return edit


def remove_recipient(session: Session, notice: Notice, email: str) -> None:
    key = email.strip().lower()
    edit = session.scalar(
        select(AudienceEdit).where(AudienceEdit.notice_id == notice.id, AudienceEdit.email == key)
    )
    if edit is None:
        edit = AudienceEdit(notice=notice, email=key)
        session.add(edit)
    edit.included = False
    session.flush()


def reset_recipient(session: Session, notice: Notice, email: str) -> None:
    """Undo the coordinator's addition or removal of ``email``."""
    session.execute(
        delete(AudienceEdit).where(
            AudienceEdit.notice_id == notice.id, AudienceEdit.email == email.strip().lower()
        )
    )
    session.expire(notice, ["audience_edits"])


# --- sending -----------------------------------------------------------------------------


def thread_roots(session: Session, notice: Notice) -> dict[str, str]:
    """Address (lower-case) -> the Message-ID of the first mail about ``notice`` that can
    have reached it: a copy refused for good (failed) or withdrawn (cancelled) never
    arrived, so threading under it would point at a mail the reader does not have.

    The first row per address is found in SQL: a notice mailed to thousands a dozen
    times must not load every outbox row into Python."""
    address = func.lower(OutboxItem.to_address)
    first = (
        select(func.min(OutboxItem.id).label("item_id"))
        .join(OutgoingMessage, OutgoingMessage.id == OutboxItem.message_id)
        .where(
            OutgoingMessage.source_type == "notice",
            OutgoingMessage.source_id == notice.id,
            OutboxItem.state.not_in([DeliveryState.failed, DeliveryState.cancelled]),
        )
        .group_by(address)
        .subquery()
    )
    rows = session.execute(
        select(OutboxItem.to_address, OutboxItem.message_id_header).join(
            first, first.c.item_id == OutboxItem.id
        )
    )
    return {to_address.lower(): message_id for to_address, message_id in rows}


def _addressees(
    links: Any, people: list[ResolvedRecipient], roots: dict[str, str], groups: dict[int, list[int]]
) -> Any:
    """``links`` personalises each copy (notice_mail_links() of the notice, made once);
    later mail threads under the first one this person got (none: it is the first).
    Each row records the stakeholder groups the person is reached as, for coverage."""
    for person in people:
        yield Addressee(
            email=person.email,
            name=person.name,
            contact_id=person.contact_id,
            personalisation={
                **links(person.contact_id, person.email),
                "thread_root": roots.get(person.email.lower(), ""),
            },
            reason="; ".join(person.reasons)[:500],
            group_ids=groups.get(person.contact_id or 0, []),
        )


def _by_language(session: Session, people: list[ResolvedRecipient]) -> dict[str, list[ResolvedRecipient]]:
    """The recipients grouped by the language their mail is written in, Swedish first."""
    languages = contact_languages(session, (p.contact_id for p in people))
    groups: dict[str, list[ResolvedRecipient]] = {language: [] for language in MAIL_LANGUAGES}
    for person in people:
        groups[languages.get(person.contact_id or 0, DEFAULT_LANGUAGE)].append(person)
    return groups


def _by_wording(
    people: list[ResolvedRecipient], wordings: list[GroupWording], groups: dict[int, list[int]]
) -> dict[GroupWording | None, list[ResolvedRecipient]]:
    """The readers of one language split by the core message of their stakeholder group
    (None: no group of theirs has one), in the order the wordings were given."""
    split: dict[GroupWording | None, list[ResolvedRecipient]] = {None: []}
    for person in people:
        split.setdefault(choose(wordings, groups.get(person.contact_id or 0, [])), []).append(person)
    return split


def _send(session: Session, notice: Notice, event: UpdateKind, update: NoticeUpdate | None) -> int:
    """One message per (language, group wording) that has readers (the plain Swedish one
    always), each rendered once and personalised per recipient by the outbox."""
    session.flush()
    people = included(recipients(session, notice))
    links = notice_mail_links(session, notice.kind, [s.id for s in notice.services], notice.severity)
    roots = thread_roots(session, notice)
    # Membership at send time: it goes on the outbox rows, and it picks the wording.
    groups = groups_of_contacts(session, (p.contact_id for p in people))
    wordings = wordings_for_notice(session, notice.id)
    count = 0
    for language, readers in _by_language(session, people).items():
        for wording, audience in _by_wording(readers, wordings, groups).items():
            if audience or (language == DEFAULT_LANGUAGE and wording is None):
                message = build_message(notice, event, update, language, wording.text if wording else "")
                count += enqueue(session, message, _addressees(links, audience, roots, groups))
    if update is not None:
        update.sent = True
        update.recipient_count = count
    return count


def _record(
    session: Session,
    notice: Notice,
    kind: UpdateKind,
    actor: User | None,
    body: str = "",
    *,
    now: datetime,
    **extra: Any,
) -> NoticeUpdate:
    update = NoticeUpdate(
        notice=notice,
        created_at=now,
        kind=kind,
        body_markdown=body or "",
        author=actor,
        author_name=(actor.name or actor.email) if actor else SCHEDULER_NAME,
        **extra,
    )
    session.add(update)
    return update


def publish(session: Session, notice: Notice, actor: User | None, now: datetime | None = None) -> int:
    """Publish a draft: the status change and one outbox row per recipient, uncommitted."""
    now = now or utcnow()
    if not notice.is_draft:
        raise NoticeError(_("Meddelandet är redan publicerat."))
    missing = publish_blockers(session, notice)
    if missing:
        name, message = next(iter(missing.items()))
        raise NoticeError(message, name)
    session.flush()
    _transition(session, notice, NoticeStatus.draft, NoticeStatus.published, published_at=now)
    if notice.kind is NoticeKind.outage:
        notice.starts_at = notice.starts_at or now
        notice.outage_state = notice.outage_state or OutageState.investigating
    update = _record(session, notice, UpdateKind.published, actor, outage_state=notice.outage_state, now=now)
    return _send(session, notice, UpdateKind.published, update)


def _transition(
    session: Session, notice: Notice, source: NoticeStatus, target: NoticeStatus, **values: Any
) -> None:
    """Change the status only if it still is ``source`` in the database.

    Two coordinators (or a double-clicked button) acting on the same notice at once: the
    second UPDATE waits for the first and then matches no row, so nothing is sent twice.
    """
    result = session.execute(
        sql_update(Notice)
        .where(Notice.id == notice.id, Notice.status == source)
        .values(status=target, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(notice)
        raise NoticeError(_("Någon annan har just ändrat meddelandet. Ladda om sidan."))
    notice.status = target
    for name, value in values.items():
        setattr(notice, name, value)


def _require_open(notice: Notice) -> None:
    if notice.status is not NoticeStatus.published:
        raise NoticeError(_("Det går bara att göra så med ett publicerat meddelande som pågår."))


def post_update(
    session: Session,
    notice: Notice,
    actor: User | None,
    body: str,
    outage_state: OutageState | None = None,
    now: datetime | None = None,
) -> NoticeUpdate:
    """A correction or news on a published notice; it is sent to everyone on the list."""
    now = now or utcnow()
    _require_open(notice)
    if not (body or "").strip() and outage_state is None:
        raise NoticeError(_("Skriv vad som är nytt."), "body")
    if outage_state is not None:
        if notice.kind is not NoticeKind.outage:
            raise NoticeError(_("Bara driftstörningar har status."), "outage_state")
        notice.outage_state = outage_state
        if outage_state is OutageState.resolved and notice.ends_at is None:
            notice.ends_at = now
    notice.sequence += 1
    update = _record(session, notice, UpdateKind.update, actor, body, outage_state=outage_state, now=now)
    _send(session, notice, UpdateKind.update, update)
    return update


def close(
    session: Session,
    notice: Notice,
    actor: User | None,
    body: str = "",
    now: datetime | None = None,
    ended_at: datetime | None = None,
) -> NoticeUpdate:
    """End a published notice; an outage is then resolved.

    ``ended_at`` is when the outage really ended, if the coordinator closes it later
    than that; it may not lie in the future or before the outage began. Without it the
    end is kept if an update already set it, else it is now.
    """
    now = now or utcnow()
    _require_open(notice)
    if ended_at is not None:
        if notice.kind is not NoticeKind.outage:
            raise NoticeError(_("Bara driftstörningar har ett slut att ange när de avslutas."), "ended_at")
        if ended_at > now:
            raise NoticeError(_("Slutet kan inte ligga i framtiden."), "ended_at")
        if notice.starts_at is not None:
            # Forms give whole minutes: the minute the outage began is not "before" it.
            if ended_at < notice.starts_at.replace(second=0, microsecond=0):
                raise NoticeError(_("Slutet kan inte ligga före starten."), "ended_at")
            ended_at = max(ended_at, notice.starts_at)
    session.flush()
    _transition(session, notice, NoticeStatus.published, NoticeStatus.closed, closed_at=now)
    notice.sequence += 1
    state = None
    if notice.kind is NoticeKind.outage:
        notice.outage_state = state = OutageState.resolved
        notice.ends_at = ended_at or notice.ends_at or now
    update = _record(session, notice, UpdateKind.closed, actor, body, outage_state=state, now=now)
    _send(session, notice, UpdateKind.closed, update)
    return update


def cancel(
    session: Session, notice: Notice, actor: User | None, body: str = "", now: datetime | None = None
) -> NoticeUpdate:
    """Call off a published notice (a service window that will not happen)."""
    now = now or utcnow()
    _require_open(notice)
    session.flush()
    _transition(session, notice, NoticeStatus.published, NoticeStatus.cancelled, closed_at=now)
    notice.sequence += 1
    session.add(ScheduleEvent(notice=notice, event="cancelled", sequence=notice.schedule_version))
    update = _record(session, notice, UpdateKind.cancelled, actor, body, now=now)
    _send(session, notice, UpdateKind.cancelled, update)
    return update


def reschedule(
    session: Session,
    notice: Notice,
    actor: User | None,
    starts_at: datetime,
    ends_at: datetime,
    body: str = "",
    now: datetime | None = None,
) -> NoticeUpdate:
    """Move a published service window; a window that has begun can only be extended."""
    now = now or utcnow()
    _require_open(notice)
    if notice.kind is not NoticeKind.service_window:
        raise NoticeError(_("Bara servicefönster kan flyttas."))
    if ends_at <= starts_at:
        raise NoticeError(_("Slutet måste ligga efter starten."), "ends_at")
    assert notice.starts_at is not None and notice.ends_at is not None
    started = now >= notice.starts_at
    if started and starts_at != notice.starts_at:
        raise NoticeError(_("Servicefönstret har redan börjat; bara slutet kan ändras."), "starts_at")
    if starts_at == notice.starts_at and ends_at == notice.ends_at:
        raise NoticeError(_("Ange en ny tid."), "starts_at")
    if ends_at <= now:
        raise NoticeError(
            _("Det nya slutet har redan passerats. Avsluta servicefönstret i stället."), "ends_at"
        )
    kind = UpdateKind.extended if started and ends_at > notice.ends_at else UpdateKind.rescheduled
    if starts_at != notice.starts_at:
        notice.start_version += 1
    notice.starts_at = starts_at
    notice.ends_at = ends_at
    notice.schedule_version += 1
    notice.sequence += 1
    session.add(ScheduleEvent(notice=notice, event=kind.value, sequence=notice.schedule_version))
    update = _record(session, notice, kind, actor, body, now=now)
    _send(session, notice, kind, update)
    return update


# --- the service-window schedule ---------------------------------------------------------


def reminder_at(notice: Notice, config: Any) -> datetime | None:
    """When the reminder goes out: ``reminder_minutes`` before start, or the working day
    before at ``NOTICE_REMINDER_TIME`` Stockholm time."""
    if notice.starts_at is None:
        return None
    minutes = notice.reminder_minutes
    if minutes is None:
        minutes = config.get("NOTICE_REMINDER_MINUTES")
    if minutes is not None:
        return notice.starts_at - timedelta(minutes=int(minutes))
    hour, minute = (int(part) for part in str(config.get("NOTICE_REMINDER_TIME", "09:00")).split(":"))
    day = working_days_before(notice.starts_at.astimezone(STOCKHOLM).date(), 1)
    return datetime.combine(day, time(hour, minute), tzinfo=STOCKHOLM).astimezone(notice.starts_at.tzinfo)


def _due_event(notice: Notice, now: datetime, config: Any) -> tuple[str, int] | None:
    assert notice.starts_at is not None and notice.ends_at is not None
    if now >= notice.ends_at:
        return "ended", notice.schedule_version
    if now >= notice.starts_at:
        return "started", notice.start_version
    remind = reminder_at(notice, config)
    if remind is not None and now >= remind and _last_announced(notice) < remind:
        return "reminder", notice.start_version
    return None


def _last_announced(notice: Notice) -> datetime:
    """When people last heard the window's time: publishing or moving it. A reminder
    right after that would only repeat it."""
    moments = [u.created_at for u in notice.updates if u.kind is UpdateKind.rescheduled]
    if notice.published_at is not None:
        moments.append(notice.published_at)
    return max(moments, default=notice.created_at)


def run_schedule(session: Session, now: datetime | None = None) -> list[tuple[int, str]]:
    """Send the service-window mail that is due: reminder, start, end (which closes it).

    Idempotent: each (notice, event, version) is recorded under a unique key in the same
    transaction as its outbox rows, so a re-run or a second worker sends nothing twice.
    Commits once per mail sent. Returns the (notice id, event) pairs this call sent.
    """
    now = now or utcnow()
    config = current_app.config
    sent: list[tuple[int, str]] = []
    session.commit()
    candidate_ids = list(
        session.scalars(
            select(Notice.id).where(
                Notice.kind == NoticeKind.service_window,
                Notice.status == NoticeStatus.published,
                Notice.starts_at.is_not(None),
                Notice.ends_at.is_not(None),
            )
        )
    )
    for notice_id in candidate_ids:
        notice = session.get(Notice, notice_id)
        if notice is None or notice.status is not NoticeStatus.published:
            continue
        due = _due_event(notice, now, config)
        if due is None:
            continue
        event, version = due
        already = session.scalar(
            select(ScheduleEvent.id).where(
                ScheduleEvent.notice_id == notice.id,
                ScheduleEvent.event == event,
                ScheduleEvent.sequence == version,
            )
        )
        if already is not None:
            continue
        try:
            session.add(ScheduleEvent(notice_id=notice.id, event=event, sequence=version))
            # The unique key is claimed before anything is sent: a second worker fails here.
            session.flush()
            kind = UpdateKind(event)
            if event == "ended":
                _transition(session, notice, NoticeStatus.published, NoticeStatus.closed, closed_at=now)
                notice.sequence += 1
            update = _record(session, notice, kind, None, now=now)
            _send(session, notice, kind, update)
            session.commit()
        except (IntegrityError, NoticeError):
            # Another worker claimed the event, or a coordinator closed the window just now.
            session.rollback()
            continue
        sent.append((notice_id, event))
    return sent


# --- reading -----------------------------------------------------------------------------


@dataclass
class StatusOverview:
    outages: list[Notice]
    windows: list[Notice]
    releases: list[Notice]
    history: list[Notice]
    by_service: list[tuple[Service, list[Notice]]]


def _published(query: Any) -> Any:
    return query.options(selectinload(Notice.services), selectinload(Notice.systems))


def status_overview(session: Session, now: datetime | None = None, history_days: int = 30) -> StatusOverview:
    now = now or utcnow()
    outages = list(
        session.scalars(
            _published(select(Notice))
            .where(Notice.kind == NoticeKind.outage, Notice.status == NoticeStatus.published)
            .order_by(Notice.starts_at.desc())
        )
    )
    windows = list(
        session.scalars(
            _published(select(Notice))
            .where(
                Notice.kind == NoticeKind.service_window,
                Notice.status == NoticeStatus.published,
                Notice.ends_at > now,
            )
            .order_by(Notice.starts_at)
        )
    )
    releases = list(
        session.scalars(
            _published(select(Notice))
            .where(
                Notice.kind.in_([NoticeKind.release, NoticeKind.general]),
                Notice.status == NoticeStatus.published,
            )
            .order_by(Notice.published_at.desc())
        )
    )
    history = list(
        session.scalars(
            _published(select(Notice))
            .where(
                Notice.status.in_([NoticeStatus.closed, NoticeStatus.cancelled]),
                Notice.published_at.is_not(None),
                Notice.closed_at >= now - timedelta(days=history_days),
            )
            .order_by(Notice.closed_at.desc())
        )
    )
    services = list(
        session.scalars(select(Service).where(Service.in_use()).order_by(Service.position, Service.name))
    )
    current = outages + windows
    by_service = [(service, [n for n in current if service in n.services]) for service in services]
    return StatusOverview(outages, windows, releases, history, by_service)


_VERSION_NOW = bindparam("now", type_=Notice.ends_at.type)
_VERSION_HORIZON = bindparam("horizon", type_=Notice.closed_at.type)


def public_version_statement(extra: Sequence[ColumnElement[Any]] = ()) -> Select[Any]:
    """The one query ``public_version`` runs, built once per app and reused: building and
    cache-keying it cost more than running it, on the page everyone opens in an outage."""
    visible = and_(Notice.status != NoticeStatus.draft, Notice.published_at.is_not(None))
    open_window = and_(Notice.kind == NoticeKind.service_window, Notice.status == NoticeStatus.published)
    finished = and_(visible, Notice.status.in_([NoticeStatus.closed, NoticeStatus.cancelled]))

    def scalar(expression: Any, *where: Any) -> Any:
        return select(expression).where(*where).scalar_subquery()

    return select(
        scalar(func.max(Notice.updated_at), visible),
        scalar(func.count(Notice.id), visible),
        scalar(func.max(Notice.ends_at), open_window, Notice.ends_at <= _VERSION_NOW),
        scalar(func.max(Notice.starts_at), open_window, Notice.starts_at <= _VERSION_NOW),
        scalar(func.max(Notice.closed_at), finished, Notice.closed_at < _VERSION_HORIZON),
        scalar(
            func.aggregate_strings(Service.name + "/" + cast(Service.position, String), "|"),
            Service.in_use(),
        ),
        *extra,
    )


def public_version(
    session: Session,
    now: datetime,
    history_days: int,
    extra: Sequence[ColumnElement[Any]] = (),
    *,
    statement: Select[Any] | None = None,
) -> PublicVersion:
    """What the public pages (status page, its feed, public notices) show depends on, in
    one query: notices change through ``updated_at``; windows start and end, and closed
    notices leave the history, as time passes; service names have no timestamp.
    ``statement``: ``public_version_statement(extra)`` built beforehand."""
    statement = statement if statement is not None else public_version_statement(extra)
    horizon = now - timedelta(days=history_days)
    changed, count, ended, started, left_history, service_names, *rest = session.execute(
        statement, {"now": now, "horizon": horizon}
    ).one()
    left_at = left_history + timedelta(days=history_days) if left_history is not None else None
    values = (changed, count, ended, started, left_history, service_names, *rest)
    return PublicVersion(latest([changed, ended, started, left_at, *rest]), values)


def public_notice(session: Session, uid: str) -> Notice | None:
    """A notice as the public sees it: never a draft."""
    return session.scalar(
        select(Notice).where(
            Notice.uid == uid, Notice.status != NoticeStatus.draft, Notice.published_at.is_not(None)
        )
    )


def feed_notices(session: Session, limit: int = 50) -> list[Notice]:
    return list(
        session.scalars(
            _published(select(Notice))
            .options(selectinload(Notice.updates))
            .where(Notice.status != NoticeStatus.draft, Notice.published_at.is_not(None))
            .order_by(Notice.updated_at.desc())
            .limit(limit)
        )
    )


def calendar_notices(session: Session, start: datetime, end: datetime) -> list[Notice]:
    """Published (or cancelled after publishing) service windows and releases overlapping
    [start, end)."""
    window = and_(
        Notice.kind == NoticeKind.service_window,
        Notice.starts_at < end,
        func.coalesce(Notice.ends_at, Notice.starts_at) >= start,
    )
    release = and_(
        Notice.kind == NoticeKind.release,
        Notice.release_date >= start.astimezone(STOCKHOLM).date(),
        Notice.release_date
        < (end.astimezone(STOCKHOLM) + timedelta(microseconds=-1)).date() + timedelta(days=1),
    )
    return list(
        session.scalars(
            select(Notice)
            .where(
                Notice.status.in_([NoticeStatus.published, NoticeStatus.closed, NoticeStatus.cancelled]),
                Notice.published_at.is_not(None),
                or_(window, release),
            )
            .order_by(Notice.starts_at, Notice.release_date, Notice.id)
        )
    )
