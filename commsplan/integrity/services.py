"""The impact of removing a plan entity, and the removal itself: delete, or retire.

Every row that can point at a stakeholder group, unit, contact, channel, system or
service is described once in ``REFERENCES`` (``tests/integrity`` fails when a foreign
key has no description), with what removing the target does to it:

- ``blocks``: the coordinator must change these first; nothing is removed;
- ``removed``: the rows go with it (responsibility rows, subscriptions …);
- ``unlinked``: only the link goes, the other row stays (a contact leaves the group);
- ``detached``: the row stays and keeps its own copy of the address (sent mail);
- ``kept``: history (a published or closed notice) goes on naming it, so the target is
  *retired* instead of deleted: hidden from lists and pickers, restorable.

The same description drives the confirmation page (``impact_of``) and the change
(``remove``), so the page lists exactly what happens. Meeting participation follows
from several links at once (a series invites groups, units and contacts), so it is
measured rather than described: ``impact_of`` performs the removal inside a savepoint,
compares every series' participants before and after, and rolls back. ``remove`` does
the same for real and sends iMIP CANCEL to everyone no longer invited, through the same
``feeds.invitations.send_series_updates`` a change on the meeting page uses.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, Select, delete, false, func, select, update
from sqlalchemy.orm import Session, selectinload

from commsplan.activities.models import Activity, ActivityGroup, activity_group_channel
from commsplan.audience.models import AudienceRule
from commsplan.delivery.models import AddressBounce, OutboxItem, OutboxItemGroup
from commsplan.digests.models import DigestRun
from commsplan.feeds import invitations
from commsplan.feeds.models import FeedKind, FeedToken, Invitation, SeriesInvitation
from commsplan.meetings import services as meetings
from commsplan.meetings.models import (
    MeetingSeries,
    Occurrence,
    meeting_series_contact,
    meeting_series_group,
    meeting_series_unit,
)
from commsplan.notices.models import (
    AudienceEdit,
    Notice,
    NoticeStatus,
    notice_group,
    notice_service,
    notice_system,
)
from commsplan.plan import crud
from commsplan.plan.models import (
    Channel,
    Contact,
    Dependency,
    InformationNeed,
    Recipient,
    Responsibility,
    Retirable,
    Service,
    StakeholderGroup,
    System,
    Unit,
    contact_stakeholder_group,
)
from commsplan.relay.rules import MappingRule
from commsplan.subscriptions.models import OptOut, RoleRequest, SubscriberProfile, Subscription
from commsplan.timeutil import utcnow

T = TypeVar("T")

# How many rows of one kind the confirmation page names one by one; the count is always whole.
SHOWN_PER_KIND = 20


class Effect(enum.Enum):
    blocks = "blocks"
    removed = "removed"
    unlinked = "unlinked"
    detached = "detached"
    kept = "kept"


@dataclass(frozen=True)
class Link:
    """Where a referring row is shown: an endpoint and its arguments, built by the page."""

    endpoint: str
    args: dict[str, Any]


@dataclass(frozen=True)
class Reference:
    """One kind of row pointing at ``target`` through ``column``.

    ``item`` is the row the coordinator reads about (for a link table: the row on the
    other side, reached through ``via``); ``where`` narrows the rows (a notice's status);
    ``label`` and ``link`` describe one item.
    """

    target: type
    column: Column[Any] | Any
    item: type
    effect: Effect
    kind: Any  # lazy text: what these rows are, e.g. "Publicerade meddelanden"
    label: Callable[[Any], str]
    link: Callable[[Any], Link | None] = lambda _item: None
    via: Column[Any] | None = None
    where: Callable[[], Sequence[Any]] = lambda: ()
    # Loader options for what ``label`` and ``link`` read, so a list costs no query per row.
    load: Callable[[], Sequence[Any]] = lambda: ()

    def items(self, target_id: int) -> Select[Any]:
        stmt = select(self.item).options(*self.load())
        if self.via is not None:
            stmt = stmt.join(self.column.table, self.via == self.item.id)
        return stmt.where(self.column == target_id, *self.where()).order_by(self.item.id)


def _notice_link(notice: Notice) -> Link:
    return Link("notices.notice_detail", {"notice_id": notice.id})


def _series_link(series: MeetingSeries) -> Link:
    return Link("meetings.series_detail", {"series_id": series.id})


def _contact_link(contact: Contact) -> Link:
    return Link("plan.contact_detail", {"contact_id": contact.id})


def _service_link(service: Service | None) -> Link | None:
    return Link("plan.service_detail", {"service_id": service.id}) if service is not None else None


def _draft() -> Sequence[Any]:
    return (Notice.status == NoticeStatus.draft,)


def _open() -> Sequence[Any]:
    return (Notice.status == NoticeStatus.published,)


def _finished() -> Sequence[Any]:
    return (Notice.status.in_([NoticeStatus.closed, NoticeStatus.cancelled]),)


def _notice_references(target: type, table: Any, column: str) -> list[Reference]:
    """A notice names services, systems and groups: drafts lose the link; ongoing notices
    block (their next update would reach fewer people); finished ones are history."""
    link_column, via = table.c[column], table.c.notice_id
    common: dict[str, Any] = {
        "target": target,
        "column": link_column,
        "item": Notice,
        "via": via,
        "label": lambda n: n.title,
        "link": _notice_link,
    }
    return [
        Reference(effect=Effect.unlinked, kind=_l("Utkast till meddelanden"), where=_draft, **common),
        Reference(
            effect=Effect.blocks, kind=_l("Pågående meddelanden (avsluta dem först)"), where=_open, **common
        ),
        Reference(
            effect=Effect.kept, kind=_l("Publicerade och avslutade meddelanden"), where=_finished, **common
        ),
    ]


def _subscription_label(subscription: Subscription) -> str:
    if subscription.service is not None:
        return f"{subscription.contact.name} – {subscription.service.name}"
    return subscription.contact.name


def _subscription_load() -> Sequence[Any]:
    return (selectinload(Subscription.contact), selectinload(Subscription.service))


def _contact_token_where() -> Sequence[Any]:
    return (FeedToken.kind == FeedKind.contact, FeedToken.revoked_at.is_(None))


REFERENCES: list[Reference] = [
    # --- stakeholder groups
    Reference(
        StakeholderGroup,
        InformationNeed.group_id,
        InformationNeed,
        Effect.removed,
        _l("Informationsbehov"),
        lambda need: need.text,
    ),
    Reference(
        StakeholderGroup,
        contact_stakeholder_group.c.group_id,
        Contact,
        Effect.unlinked,
        _l("Kontakter i gruppen (kontakterna finns kvar)"),
        lambda c: c.name,
        _contact_link,
        via=contact_stakeholder_group.c.contact_id,
    ),
    Reference(
        StakeholderGroup,
        meeting_series_group.c.group_id,
        MeetingSeries,
        Effect.unlinked,
        _l("Mötesserier som bjuder in gruppen"),
        lambda s: s.title,
        _series_link,
        via=meeting_series_group.c.series_id,
    ),
    *_notice_references(StakeholderGroup, notice_group, "group_id"),
    Reference(
        StakeholderGroup,
        OutboxItemGroup.group_id,
        OutboxItem,
        Effect.removed,
        _l("Utskick som nådde gruppen (utskicken finns kvar, inte gruppens täckning)"),
        lambda o: o.to_address,
        lambda o: Link("delivery.message_delivery", {"message_id": o.message_id}),
        via=OutboxItemGroup.outbox_item_id,
    ),
    # --- units
    Reference(
        Unit,
        Recipient.unit_id,
        Recipient,
        Effect.blocks,
        _l("Mottagare av information"),
        crud.recipient_label,
        lambda r: Link("plan.recipient_detail", {"recipient_id": r.id}),
    ),
    Reference(
        Unit, Contact.unit_id, Contact, Effect.blocks, _l("Kontakter"), lambda c: c.name, _contact_link
    ),
    Reference(
        Unit,
        System.object_unit_id,
        System,
        Effect.blocks,
        _l("System som enheten förvaltar"),
        lambda s: s.name,
        lambda s: Link("plan.system_detail", {"system_id": s.id}),
    ),
    Reference(
        Unit,
        Responsibility.responsible_unit_id,
        Responsibility,
        Effect.blocks,
        _l("Rader i ansvarstabellen"),
        crud.responsibility_label,
        lambda r: _service_link(r.service),
    ),
    Reference(
        Unit,
        meeting_series_unit.c.unit_id,
        MeetingSeries,
        Effect.unlinked,
        _l("Mötesserier som bjuder in enheten"),
        lambda s: s.title,
        _series_link,
        via=meeting_series_unit.c.series_id,
    ),
    # --- channels
    Reference(
        Channel,
        Recipient.channel_id,
        Recipient,
        Effect.blocks,
        _l("Mottagare av information"),
        crud.recipient_label,
        lambda r: Link("plan.recipient_detail", {"recipient_id": r.id}),
    ),
    Reference(
        Channel,
        Responsibility.channel_id,
        Responsibility,
        Effect.blocks,
        _l("Rader i ansvarstabellen"),
        crud.responsibility_label,
        lambda r: _service_link(r.service),
    ),
    # --- recipients
    # Declared, not left to ON DELETE CASCADE: SQLite does not enforce foreign keys, and
    # an orphaned rule made every later delete-impact page of its service a 500.
    Reference(
        Recipient,
        AudienceRule.recipient_id,
        AudienceRule,
        Effect.removed,
        _l("Regler i Vem får vad för mottagaren"),
        lambda r: r.service.name if r.service else _("Alla e-tjänster"),
        lambda _r: Link("audience.matrix", {}),
    ),
    # --- contacts
    Reference(
        Contact,
        contact_stakeholder_group.c.contact_id,
        StakeholderGroup,
        Effect.unlinked,
        _l("Intressentgrupper (grupperna finns kvar)"),
        lambda g: g.name,
        lambda g: Link("plan.stakeholder_detail", {"group_id": g.id}),
        via=contact_stakeholder_group.c.group_id,
    ),
    Reference(
        Contact,
        meeting_series_contact.c.contact_id,
        MeetingSeries,
        Effect.unlinked,
        _l("Mötesserier som bjuder in kontakten"),
        lambda s: s.title,
        _series_link,
        via=meeting_series_contact.c.series_id,
    ),
    Reference(
        Contact,
        Subscription.contact_id,
        Subscription,
        Effect.removed,
        _l("Prenumerationer"),
        _subscription_label,
        lambda s: _service_link(s.service),
        load=_subscription_load,
    ),
    Reference(
        Contact,
        FeedToken.target_id,
        FeedToken,
        Effect.removed,
        _l("Personliga kalenderflöden (länken slutar fungera)"),
        lambda _t: str(_l("Kalenderflöde")),
        where=_contact_token_where,
    ),
    Reference(
        Contact,
        AudienceEdit.contact_id,
        AudienceEdit,
        Effect.detached,
        _l("Tillägg och undantag i meddelandens mottagarlistor (adressen finns kvar)"),
        lambda e: f"{e.email} – {e.notice.title}",
        lambda e: _notice_link(e.notice),
    ),
    Reference(
        Contact,
        Invitation.contact_id,
        Invitation,
        Effect.detached,
        _l("Kalenderinbjudningar (adressen finns kvar)"),
        lambda i: i.email,
        lambda i: Link("meetings.occurrence_detail", {"occurrence_id": i.occurrence_id}),
    ),
    Reference(
        Contact,
        SeriesInvitation.contact_id,
        SeriesInvitation,
        Effect.detached,
        _l("Kalenderinbjudningar (adressen finns kvar)"),
        lambda i: i.email,
        lambda i: Link("meetings.series_detail", {"series_id": i.series_id}),
    ),
    Reference(
        Contact,
        OutboxItem.contact_id,
        OutboxItem,
        Effect.detached,
        _l("Skickade och köade utskick (adressen finns kvar)"),
        lambda o: o.to_address,
        lambda o: Link("delivery.message_delivery", {"message_id": o.message_id}),
    ),
    Reference(
        Contact,
        AddressBounce.contact_id,
        AddressBounce,
        Effect.detached,
        _l("Adresser med problem (flaggan finns kvar för adressen)"),
        lambda b: b.email,
        lambda _b: Link("audience.problems", {}),
    ),
    Reference(
        Contact,
        SubscriberProfile.contact_id,
        SubscriberProfile,
        Effect.removed,
        _l("Självregistrering (organisation och val av sammanfattning)"),
        lambda p: p.contact.name,
    ),
    Reference(
        Contact,
        RoleRequest.contact_id,
        RoleRequest,
        Effect.removed,
        _l("Begäranden om ändrad roll"),
        lambda r: r.roles,
        lambda _r: Link("subscriptions.requests_list", {}),
    ),
    Reference(
        Contact,
        OptOut.contact_id,
        OptOut,
        Effect.detached,
        _l("Avregistreringar (adressen finns kvar)"),
        lambda o: o.email,
        lambda _o: Link("subscriptions.requests_list", {}),
    ),
    Reference(
        Contact,
        DigestRun.contact_id,
        DigestRun,
        Effect.removed,
        _l("Skickade sammanfattningar (registret över dem; breven finns kvar i utskicken)"),
        lambda d: f"{d.period} {d.period_key}",
    ),
    # --- systems
    Reference(
        System,
        Responsibility.system_id,
        Responsibility,
        Effect.blocks,
        _l("Rader i ansvarstabellen"),
        crud.responsibility_label,
        lambda r: _service_link(r.service),
    ),
    Reference(
        System,
        Dependency.system_id,
        Dependency,
        Effect.blocks,
        _l("Beroenden"),
        crud.dependency_label,
        lambda d: Link("plan.dependency_detail", {"dependency_id": d.id}),
    ),
    *_notice_references(System, notice_system, "system_id"),
    # --- services
    Reference(
        Service,
        Responsibility.service_id,
        Responsibility,
        Effect.removed,
        _l("Rader i ansvarstabellen"),
        crud.responsibility_label,
    ),
    Reference(
        Service,
        Dependency.service_id,
        Dependency,
        Effect.removed,
        _l("Beroenden"),
        crud.dependency_label,
        lambda d: Link("plan.dependency_detail", {"dependency_id": d.id}),
    ),
    Reference(
        Service,
        Subscription.service_id,
        Subscription,
        Effect.removed,
        _l("Prenumerationer på e-tjänsten"),
        _subscription_label,
        lambda s: _contact_link(s.contact),
        load=_subscription_load,
    ),
    Reference(
        Service,
        AudienceRule.service_id,
        AudienceRule,
        Effect.removed,
        _l("Regler i Vem får vad för e-tjänsten"),
        lambda r: r.recipient.unit.name,
        lambda _r: Link("audience.matrix", {}),
    ),
    *_notice_references(Service, notice_service, "service_id"),
]


# --- activities (issue 14): an activity keeps its other groups, channels and answers
def _activity_link(activity: Activity) -> Link:
    return Link("activities.activity_detail", {"activity_id": activity.id})


ACTIVITY_REFERENCES: list[Reference] = [
    Reference(
        StakeholderGroup,
        ActivityGroup.group_id,
        Activity,
        Effect.unlinked,
        _l("Aktiviteter som riktar sig till gruppen (gruppens kärnbudskap tas bort)"),
        lambda a: a.title,
        _activity_link,
        via=ActivityGroup.activity_id,
    ),
    Reference(
        Channel,
        activity_group_channel.c.channel_id,
        ActivityGroup,
        Effect.unlinked,
        _l("Aktiviteter som planerar kanalen för en målgrupp"),
        lambda g: f"{g.activity.title} – {g.group.name}",
        lambda g: _activity_link(g.activity),
        via=activity_group_channel.c.activity_group_id,
    ),
    Reference(
        Contact,
        Activity.responsible_contact_id,
        Activity,
        Effect.detached,
        _l("Aktiviteter där kontakten är ansvarig (ansvarig måste anges på nytt)"),
        lambda a: a.title,
        _activity_link,
    ),
]
REFERENCES += ACTIVITY_REFERENCES


# --- relay (issue 12): a rule only names its target, so it goes with it
def _rule_link(_rule: MappingRule) -> Link:
    return Link("relay_rules.rule_list", {})


RELAY_REFERENCES: list[Reference] = [
    Reference(
        Service,
        MappingRule.service_id,
        MappingRule,
        Effect.removed,
        _l("Mappningsregler för nationell information"),
        lambda r: r.pattern,
        _rule_link,
    ),
    Reference(
        System,
        MappingRule.system_id,
        MappingRule,
        Effect.removed,
        _l("Mappningsregler för nationell information"),
        lambda r: r.pattern,
        _rule_link,
    ),
]
REFERENCES += RELAY_REFERENCES


def references_to(model: type) -> list[Reference]:
    return [ref for ref in REFERENCES if ref.target is model]


# --- the impact ------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    label: str
    link: Link | None


@dataclass(frozen=True)
class Affected:
    """The rows of one reference that the removal touches."""

    reference: Reference
    count: int
    items: list[Item]

    @property
    def effect(self) -> Effect:
        return self.reference.effect

    @property
    def more(self) -> int:
        return self.count - len(self.items)


@dataclass(frozen=True)
class MeetingChange:
    """A series whose participants change: how many before and after, who leaves, how
    many calendar events get a CANCEL and how many personal feeds stop showing it."""

    series_id: int
    title: str
    before: int
    after: int
    leaving: list[str]
    cancellations: int
    feeds: int


@dataclass
class Impact:
    target: Any
    affected: list[Affected] = field(default_factory=list)
    meetings: list[MeetingChange] = field(default_factory=list)

    def of(self, effect: Effect) -> list[Affected]:
        return [a for a in self.affected if a.effect is effect]

    @property
    def blocked(self) -> bool:
        return bool(self.of(Effect.blocks))

    @property
    def retires(self) -> bool:
        """History refers to the target: it is archived, not deleted."""
        return bool(self.of(Effect.kept))


class Blocked(crud.PlanDataError):
    """Something the coordinator must change first still refers to the row."""

    def __init__(self, impact: Impact) -> None:
        super().__init__(_("Det går inte att ta bort eftersom annat hänvisar hit."))
        self.impact = impact


def _affected(session: Session, target: Any) -> list[Affected]:
    found = []
    for ref in references_to(type(target)):
        stmt = ref.items(target.id)
        count = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        if not count:
            continue
        rows = session.scalars(stmt.limit(SHOWN_PER_KIND)).unique().all()
        found.append(Affected(ref, count, [Item(ref.label(row), ref.link(row)) for row in rows]))
    return found


# Series id -> the participants' addresses -> (name, contact id).
Roster = dict[int, dict[str, tuple[str, int]]]


def _rosters(session: Session, series_ids: list[int] | None = None) -> Roster:
    """The participants of every series, or of the series ``series_ids``."""
    query = select(MeetingSeries).order_by(MeetingSeries.id)
    if series_ids is not None:
        query = query.where(MeetingSeries.id.in_(series_ids))
    return {
        series.id: {c.email.lower(): (c.name, c.id) for c in meetings.participants_of(session, series)}
        for series in session.scalars(query)
    }


def _series_reaching(target: Any) -> Select[Any] | None:
    """The series whose participants removing ``target`` could change; None: any series.

    A series reaches people directly, through a unit or through a group, so only removing
    one of those can change who takes part; a group series may reach thousands of
    contacts, which a confirmation page must not load for every series in the plan.
    """
    if isinstance(target, Contact):
        direct = select(meeting_series_contact.c.series_id).where(
            meeting_series_contact.c.contact_id == target.id
        )
        by_unit = select(meeting_series_unit.c.series_id).where(
            meeting_series_unit.c.unit_id == target.unit_id
        )
        by_group = (
            select(meeting_series_group.c.series_id)
            .join(
                contact_stakeholder_group,
                contact_stakeholder_group.c.group_id == meeting_series_group.c.group_id,
            )
            .where(contact_stakeholder_group.c.contact_id == target.id)
        )
        return direct.union(by_unit, by_group)  # type: ignore[return-value]
    if isinstance(target, Unit):
        return select(meeting_series_unit.c.series_id).where(meeting_series_unit.c.unit_id == target.id)
    if isinstance(target, StakeholderGroup):
        return select(meeting_series_group.c.series_id).where(meeting_series_group.c.group_id == target.id)
    if isinstance(target, MeetingSeries):
        return None
    return select(MeetingSeries.id).where(false())


def _held_invitations(session: Session, series_id: int, emails: set[str], now: datetime) -> int:
    stmt = (
        select(func.count())
        .select_from(Invitation)
        .join(Occurrence, Occurrence.id == Invitation.occurrence_id)
        .where(
            Occurrence.series_id == series_id,
            Occurrence.end >= now,
            Invitation.cancelled.is_(False),
            Invitation.email.in_(sorted(emails)),
        )
    )
    # A series sent as one recurring event is one CANCEL per person.
    whole = select(func.count()).where(
        SeriesInvitation.series_id == series_id,
        SeriesInvitation.cancelled.is_(False),
        SeriesInvitation.email.in_(sorted(emails)),
    )
    return (session.scalar(stmt) or 0) + (session.scalar(whole) or 0)


def _live_contact_feeds(session: Session, contact_ids: set[int]) -> int:
    stmt = select(func.count()).where(
        FeedToken.kind == FeedKind.contact,
        FeedToken.target_id.in_(sorted(contact_ids)),
        FeedToken.revoked_at.is_(None),
    )
    return session.scalar(stmt) or 0


def _changes(session: Session, before: Roster, after: Roster, now: datetime) -> list[MeetingChange]:
    changes = []
    for series_id, people in before.items():
        remaining = after.get(series_id, {})
        if set(people) == set(remaining):
            continue
        leaving = set(people) - set(remaining)
        series = session.get(MeetingSeries, series_id)
        changes.append(
            MeetingChange(
                series_id=series_id,
                title=series.title if series is not None else "",
                before=len(people),
                after=len(remaining),
                leaving=sorted(people[email][0] or email for email in leaving),
                cancellations=_held_invitations(session, series_id, leaving, now) if leaving else 0,
                feeds=_live_contact_feeds(session, {people[e][1] for e in leaving}) if leaving else 0,
            )
        )
    return changes


def impact_of(session: Session, target: Any, now: datetime | None = None) -> Impact:
    """What removing ``target`` would do, without doing it."""
    now = now or utcnow()
    impact = Impact(target, _affected(session, target))
    if impact.blocked:
        return impact
    # Read before the removal: it takes the links the selection follows with it.
    reaching = _series_reaching(target)
    series_ids = None if reaching is None else list(session.scalars(reaching))
    before = _rosters(session, series_ids)
    savepoint = session.begin_nested()
    try:
        _apply(session, target, impact, now)
        impact.meetings = _changes(session, before, _rosters(session, series_ids), now)
    finally:
        savepoint.rollback()
    return impact


# --- the change ------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    retired: bool
    cancellations: int


def _ids(session: Session, ref: Reference, target_id: int) -> list[int]:
    return list(session.scalars(ref.items(target_id).with_only_columns(ref.item.id)))


def _apply(session: Session, target: Any, impact: Impact, now: datetime) -> None:
    session.flush()
    for affected in impact.affected:
        ref = affected.reference
        if ref.effect in (Effect.kept, Effect.blocks):
            continue
        ids = _ids(session, ref, target.id)
        if ref.effect is Effect.removed:
            session.execute(delete(ref.item.__table__).where(ref.item.id.in_(ids)))
        elif ref.effect is Effect.unlinked:
            session.execute(delete(ref.column.table).where(ref.column == target.id, ref.via.in_(ids)))  # type: ignore[union-attr]
        elif ref.effect is Effect.detached:
            table = ref.item.__table__
            session.execute(update(table).where(table.c.id.in_(ids)).values({ref.column.key: None}))
    # The statements above bypassed the ORM: reload what it holds before it cascades.
    session.expire_all()
    if impact.retires:
        target.retired_at = now
    else:
        session.delete(target)
    session.flush()


def remove(session: Session, target: Any, now: datetime | None = None) -> Outcome:
    """Delete ``target``, or retire it when history refers to it; the caller commits.

    Raises ``Blocked`` when rows the coordinator must change first refer to it. Meeting
    participants who are no longer invited get an iMIP CANCEL for every occurrence their
    calendar holds, in the same transaction.
    """
    now = now or utcnow()
    impact = Impact(target, _affected(session, target))
    if impact.blocked:
        raise Blocked(impact)
    _result, cancellations = in_step_with_meetings(session, lambda: _apply(session, target, impact, now), now)
    return Outcome(retired=impact.retires, cancellations=cancellations)


def in_step_with_meetings(
    session: Session, change: Callable[[], T], now: datetime | None = None
) -> tuple[T, int]:
    """Run ``change`` (any change to the plan) and bring meeting calendars in step.

    Whoever stops being a participant of a series because of it (a contact left a group,
    changed unit, was made inactive or deleted) gets a CANCEL for each future occurrence
    their calendar holds, exactly as when a coordinator removes them on the meeting page.
    Returns what ``change`` returned and the number of mails queued.
    """
    now = now or utcnow()
    before = _rosters(session)
    result = change()
    session.flush()
    queued = 0
    for moved in _changes(session, before, _rosters(session), now):
        series = session.get(MeetingSeries, moved.series_id)
        if series is not None:
            queued += invitations.send_series_updates(session, series, now)
    return result, queued


def restore(session: Session, target: Retirable) -> None:
    """Bring a retired row back into lists and pickers; its old links stay removed."""
    target.retired_at = None
    session.flush()
