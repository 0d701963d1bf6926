"""Building and queueing digests: one mail per person and period with everything since
their last digest.

Exactly once per person and period: each person's ``DigestRun`` is inserted under its
unique key (``ON CONFLICT DO NOTHING … RETURNING``) in the same transaction as the
digest's outbox row and items. A second run, or a second worker at the same moment, gets
no row back for that person and skips them (on PostgreSQL the second insert waits for
the first transaction and then sees the conflict); a crash rolls back runs and mail
together, so the next run sends what was missing. People are taken in batches in id
order: memory stays flat in the number of subscribers, and a batch is one transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from flask import current_app
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from commsplan.delivery.models import OutgoingMessage
from commsplan.delivery.services import Addressee, enqueue, message_domain
from commsplan.digests.models import DigestRound, DigestRun
from commsplan.meetings.models import Occurrence, OccurrenceStatus
from commsplan.notices.labels import KIND_LABELS, OUTAGE_STATE_LABELS, SEVERITY_LABELS, UPDATE_LABELS
from commsplan.notices.markup import render_markdown
from commsplan.notices.models import (
    Notice,
    NoticeKind,
    NoticeStatus,
    NoticeUpdate,
    OutageState,
    Severity,
    UpdateKind,
)
from commsplan.notices.services import recipients as resolve_recipients
from commsplan.plan.models import Contact
from commsplan.subscriptions.models import Frequency, SubscriberProfile, Subscription
from commsplan.subscriptions.services import matches, one_click_links, preferences_links
from commsplan.timeutil import STOCKHOLM, is_working_day, utcnow

PERIODS = (Frequency.daily, Frequency.weekly)
UPCOMING_DAYS = 14
# A first digest reaches back at most this far (or to the subscription, if later).
FIRST_LOOKBACK = {Frequency.daily: timedelta(days=1), Frequency.weekly: timedelta(days=7)}
BATCH_SIZE = 500


class DigestError(ValueError):
    """A digest request that cannot be run; the message is for the user."""


# --- when ----------------------------------------------------------------------------------


def period_key(period: Frequency, now: datetime) -> str:
    """The local date a digest belongs to: today, or the Monday of this week."""
    day = now.astimezone(STOCKHOLM).date()
    if period is Frequency.weekly:
        day -= timedelta(days=day.weekday())
    return day.isoformat()


def _clock(value: str) -> time:
    hours, _sep, minutes = str(value).partition(":")
    return time(int(hours), int(minutes or 0))


def due_key(period: Frequency, now: datetime, config: Any) -> str | None:
    """The key of the round that is due at ``now``, or None.

    Daily: on working days (no digest on weekends or Swedish public holidays; the next
    one covers them) from DIGEST_DAILY_TIME. Weekly: from DIGEST_WEEKLY_DAY (1 = Monday)
    at DIGEST_WEEKLY_TIME, for the rest of that week if the worker was down then.
    """
    local = now.astimezone(STOCKHOLM)
    if period is Frequency.daily:
        if not is_working_day(local.date()) or local.time() < _clock(config["DIGEST_DAILY_TIME"]):
            return None
        return local.date().isoformat()
    monday = local.date() - timedelta(days=local.weekday())
    start_day = monday + timedelta(days=int(config["DIGEST_WEEKLY_DAY"]) - 1)
    start = datetime.combine(start_day, _clock(config["DIGEST_WEEKLY_TIME"]), STOCKHOLM)
    return monday.isoformat() if local >= start else None


# --- what --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """One published change of a notice (publication, update, reminder …)."""

    update_id: int
    notice_id: int
    at: datetime


@dataclass(frozen=True)
class NoticeInfo:
    """What a digest shows of a notice: plain values, so committing a batch (which
    expires ORM objects) never reloads them and matching touches no ORM attributes."""

    id: int
    uid: str
    kind: NoticeKind
    title: str
    severity: Severity | None
    outage_state: OutageState | None
    starts_at: datetime | None
    ends_at: datetime | None
    service_ids: frozenset[int]
    service_names: tuple[str, ...]

    @classmethod
    def of(cls, notice: Notice) -> NoticeInfo:
        return cls(
            notice.id,
            notice.uid,
            notice.kind,
            notice.title,
            notice.severity,
            notice.outage_state,
            notice.starts_at,
            notice.ends_at,
            frozenset(s.id for s in notice.services),
            tuple(s.name for s in notice.services),
        )


@dataclass(frozen=True)
class UpdateInfo:
    kind: UpdateKind
    body: str
    body_html: str


@dataclass(frozen=True)
class MeetingInfo:
    id: int
    title: str
    start: datetime


@dataclass
class Source:
    """Everything a round needs besides the people, loaded once per round."""

    now: datetime
    notices: dict[int, NoticeInfo]
    events: list[Event]
    ongoing: list[int]
    windows: list[int]
    meetings: list[MeetingInfo]
    updates: dict[int, UpdateInfo] = field(default_factory=dict)
    # contact id → notices they take in the digest because of their role
    role_notices: dict[int, frozenset[int]] = field(default_factory=dict)


def load_source(session: Session, period: Frequency, since: datetime, now: datetime) -> Source:
    updates = list(
        session.scalars(
            select(NoticeUpdate)
            .join(Notice)
            .where(
                NoticeUpdate.sent.is_(True),
                NoticeUpdate.created_at > since,
                NoticeUpdate.created_at <= now,
                Notice.status != NoticeStatus.draft,
            )
            .order_by(NoticeUpdate.created_at, NoticeUpdate.id)
        )
    )
    horizon = now + timedelta(days=UPCOMING_DAYS)
    ongoing = list(
        session.scalars(
            select(Notice.id)
            .where(Notice.kind == NoticeKind.outage, Notice.status == NoticeStatus.published)
            .order_by(Notice.starts_at, Notice.id)
        )
    )
    windows = list(
        session.scalars(
            select(Notice.id)
            .where(
                Notice.kind == NoticeKind.service_window,
                Notice.status == NoticeStatus.published,
                Notice.starts_at <= horizon,
                or_(Notice.ends_at.is_(None), Notice.ends_at > now),
            )
            .order_by(Notice.starts_at, Notice.id)
        )
    )
    notice_ids = {u.notice_id for u in updates} | set(ongoing) | set(windows)
    notices = {
        n.id: n
        for n in session.scalars(
            select(Notice).where(Notice.id.in_(notice_ids)).options(selectinload(Notice.services))
        )
    }
    meetings = [
        MeetingInfo(o.id, o.series.title, o.start)
        for o in session.scalars(
            select(Occurrence)
            .where(
                Occurrence.start >= now,
                Occurrence.start <= horizon,
                Occurrence.status != OccurrenceStatus.cancelled,
            )
            .options(selectinload(Occurrence.series))
            .order_by(Occurrence.start)
        )
    ]
    source = Source(
        now=now,
        notices={nid: NoticeInfo.of(n) for nid, n in notices.items()},
        events=[Event(u.id, u.notice_id, u.created_at) for u in updates],
        ongoing=ongoing,
        windows=windows,
        meetings=meetings,
        updates={
            u.id: UpdateInfo(u.kind, u.body_markdown, str(render_markdown(u.body_markdown))) for u in updates
        },
    )
    _load_role_notices(session, source, [notices[e.notice_id] for e in source.events], period)
    return source


def _load_role_notices(
    session: Session, source: Source, notices: Iterable[Notice], period: Frequency
) -> None:
    """Which role-based recipients were left out of which notices for their digest."""
    wanted = set(
        session.scalars(select(SubscriberProfile.contact_id).where(SubscriberProfile.role_digest == period))
    )
    if not wanted:
        return
    reason = _("Får detta i sin sammanfattning")
    found: dict[int, set[int]] = defaultdict(set)
    for notice in {n.id: n for n in notices}.values():
        if notice.kind not in (NoticeKind.release, NoticeKind.general):
            continue
        for person in resolve_recipients(session, notice):
            if person.contact_id in wanted and person.excluded_reason == reason:
                found[person.contact_id].add(notice.id)
    source.role_notices = {contact_id: frozenset(ids) for contact_id, ids in found.items()}


@dataclass(frozen=True)
class Content:
    """What one person's digest says; equal contents share one rendered mail."""

    language: str
    events: tuple[Event, ...]
    ongoing: tuple[int, ...]
    windows: tuple[int, ...]

    @property
    def empty(self) -> bool:
        return not self.events


SubscriptionKey = tuple[NoticeKind | None, int | None]


def followed_notices(source: Source, subscriptions: Iterable[SubscriptionKey]) -> frozenset[int]:
    """The notices of ``source`` that any of ``subscriptions`` matches."""
    keys = list(subscriptions)
    return frozenset(
        info.id
        for info in source.notices.values()
        if any(matches(kind, service, info.kind, info.service_ids) for kind, service in keys)
    )


def content_for(
    source: Source,
    language: str,
    followed: frozenset[int],
    role_notice_ids: frozenset[int],
    since: datetime,
) -> Content:
    wanted = followed | role_notice_ids
    return Content(
        language=language if language in current_app.config["LANGUAGES"] else "sv",
        events=tuple(e for e in source.events if e.at > since and e.notice_id in wanted),
        ongoing=tuple(i for i in source.ongoing if i in followed),
        windows=tuple(i for i in source.windows if i in followed),
    )


# --- how it reads --------------------------------------------------------------------------


def _local(value: datetime | None) -> str:
    return value.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M") if value else ""


def _url(info: NoticeInfo) -> str:
    return f"{current_app.config['BASE_URL']}/status/{info.uid}"


def _groups(source: Source, content: Content) -> list[tuple[str, list[dict[str, Any]]]]:
    """New notices and updates grouped by e-service (the notice's first one)."""
    by_notice: dict[int, list[Event]] = defaultdict(list)
    for event in content.events:
        by_notice[event.notice_id].append(event)
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for notice_id, events in by_notice.items():
        info = source.notices[notice_id]
        group = info.service_names[0] if info.service_names else _("Alla e-tjänster")
        groups[group].append(
            {
                "notice": info,
                "kind_label": str(KIND_LABELS[info.kind]),
                "severity_label": str(SEVERITY_LABELS[info.severity]) if info.severity else "",
                "url": _url(info),
                "events": [
                    {
                        "label": str(UPDATE_LABELS[source.updates[e.update_id].kind]),
                        "at": _local(e.at),
                        "body": source.updates[e.update_id].body,
                        "body_html": Markup(source.updates[e.update_id].body_html),  # noqa: S704 - sanitised
                    }
                    for e in events
                ],
            }
        )
    return sorted(groups.items(), key=lambda item: item[0].lower())


def render(source: Source, content: Content, period: Frequency) -> OutgoingMessage:
    """The digest mail for ``content``; name and links are filled in per recipient."""
    base = current_app.config["BASE_URL"]
    env = current_app.jinja_env
    with force_locale(content.language):
        count = len({e.notice_id for e in content.events})
        heading = _("Daglig sammanfattning") if period is Frequency.daily else _("Veckosammanfattning")
        context = {
            "heading": heading,
            "lang": content.language,
            "groups": _groups(source, content),
            "ongoing": [
                {
                    "notice": source.notices[i],
                    "state": str(OUTAGE_STATE_LABELS[source.notices[i].outage_state])
                    if source.notices[i].outage_state
                    else "",
                    "since": _local(source.notices[i].starts_at),
                    "url": _url(source.notices[i]),
                }
                for i in content.ongoing
            ],
            "windows": [
                {
                    "notice": source.notices[i],
                    "starts": _local(source.notices[i].starts_at),
                    "ends": _local(source.notices[i].ends_at),
                    "url": _url(source.notices[i]),
                }
                for i in content.windows
            ],
            "meetings": [
                {"title": m.title, "starts": _local(m.start), "url": f"{base}/meetings/register/{m.id}"}
                for m in source.meetings
            ],
            "status_url": f"{base}/status",
            "name": "%%name%%",
            "preferences_url": "%%preferences_url%%",
        }
        subject = ngettext(
            "%(heading)s: %(num)s meddelande om 1177 e-tjänster",
            "%(heading)s: %(num)s meddelanden om 1177 e-tjänster",
            count,
            heading=heading,
        )
        text_body = env.get_template("email/digests/digest.txt").render(**context)
        html_body = env.get_template("email/digests/digest.html").render(**context)
    return OutgoingMessage(
        kind=f"digest_{period.value}",
        subject=subject,
        text_body=text_body,
        html_body=html_body,
        headers={},
        attachments=[],
        source_type="digest",
    )


# --- the round -----------------------------------------------------------------------------


@dataclass
class RoundResult:
    period: Frequency
    key: str
    sent: int = 0
    empty: int = 0
    skipped: int = 0
    already_done: bool = False


def _candidates(session: Session, period: Frequency) -> Any:
    """Active contacts with a digest subscription of ``period`` or a role digest."""
    return (
        select(Contact.id)
        .where(
            Contact.active.is_(True),
            or_(
                Contact.id.in_(select(Subscription.contact_id).where(Subscription.frequency == period)),
                Contact.id.in_(
                    select(SubscriberProfile.contact_id).where(SubscriberProfile.role_digest == period)
                ),
            ),
        )
        .order_by(Contact.id)
    )


def _batches(session: Session, period: Frequency, size: int) -> Iterator[list[int]]:
    last = 0
    while True:
        ids = list(session.scalars(_candidates(session, period).where(Contact.id > last).limit(size)))
        if not ids:
            return
        yield ids
        last = ids[-1]


def _insert_runs(session: Session, rows: list[dict[str, Any]]) -> dict[int, int]:
    """Insert the runs that do not exist yet; contact id → run id of those we own."""
    if not rows:
        return {}
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = DigestRun.__table__
    # One cached statement, executed for many rows ("insertmanyvalues"): a multi-VALUES
    # statement of a whole batch would be compiled anew for every batch.
    stmt = (
        insert(table)
        .on_conflict_do_nothing(index_elements=["contact_id", "period", "period_key"])
        .returning(table.c.contact_id, table.c.id)
    )
    return dict(session.connection().execute(stmt, rows).tuples().all())


def _earliest_since(session: Session, period: Frequency, now: datetime) -> datetime:
    """Where the oldest window of this round starts: a first digest's look-back, or the
    oldest "last digest" of anyone; a month at most (a digest never reaches further)."""
    last = (
        select(func.max(DigestRun.covered_until).label("until"))
        .where(DigestRun.period == period.value)
        .group_by(DigestRun.contact_id)
        .subquery()
    )
    oldest = session.scalar(select(func.min(last.c.until)))
    since = now - FIRST_LOOKBACK[period]
    if oldest is not None and oldest < since:
        since = oldest
    return max(since, now - timedelta(days=31))


def _previous_until(session: Session, period: Frequency, contact_ids: list[int]) -> dict[int, datetime]:
    rows = session.execute(
        select(DigestRun.contact_id, func.max(DigestRun.covered_until))
        .where(DigestRun.period == period.value, DigestRun.contact_id.in_(contact_ids))
        .group_by(DigestRun.contact_id)
    )
    return {contact_id: until for contact_id, until in rows}


@dataclass
class Person:
    id: int
    email: str
    name: str
    language: str
    subscriptions: list[SubscriptionKey]
    first_subscribed: datetime | None


def _people(session: Session, period: Frequency, contact_ids: list[int]) -> list[Person]:
    people = {
        row.id: Person(row.id, row.email, row.name, row.language, [], None)
        for row in session.execute(
            select(Contact.id, Contact.email, Contact.name, Contact.language).where(
                Contact.id.in_(contact_ids)
            )
        )
    }
    for row in session.execute(
        select(
            Subscription.contact_id,
            Subscription.notice_kind,
            Subscription.service_id,
            Subscription.created_at,
        ).where(Subscription.contact_id.in_(contact_ids), Subscription.frequency == period)
    ):
        person = people[row.contact_id]
        person.subscriptions.append((row.notice_kind, row.service_id))
        if person.first_subscribed is None or row.created_at < person.first_subscribed:
            person.first_subscribed = row.created_at
    return [people[i] for i in contact_ids if i in people]


def _since(person: Person, previous: datetime | None, period: Frequency, now: datetime) -> datetime:
    if previous is not None:
        return previous
    since = now - FIRST_LOOKBACK[period]
    if person.first_subscribed is not None and person.first_subscribed > since:
        since = person.first_subscribed
    return since


def run_round(
    session: Session,
    period: Frequency,
    now: datetime | None = None,
    *,
    key: str | None = None,
    batch_size: int = BATCH_SIZE,
) -> RoundResult:
    """Build and queue the digests of ``period`` for everyone who is due; commits per batch."""
    now = now or utcnow()
    key = key or period_key(period, now)
    result = RoundResult(period, key)
    session.commit()
    if session.scalar(
        select(DigestRound.id).where(DigestRound.period == period.value, DigestRound.period_key == key)
    ):
        result.already_done = True
        return result
    source = load_source(session, period, _earliest_since(session, period, now), now)
    domain = message_domain()
    preferences = preferences_links()
    one_click = one_click_links()
    for contact_ids in _batches(session, period, batch_size):
        people = _people(session, period, contact_ids)
        previous = _previous_until(session, period, contact_ids)
        windows = {p.id: _since(p, previous.get(p.id), period, now) for p in people}
        owned = _insert_runs(
            session,
            [
                {
                    "contact_id": p.id,
                    "period": period.value,
                    "period_key": key,
                    "covered_from": windows[p.id],
                    "covered_until": now,
                    "items": [],
                    "created_at": now,
                }
                for p in people
            ],
        )
        result.skipped += len(people) - len(owned)
        groups: dict[Content, list[Person]] = defaultdict(list)
        # People with the same subscriptions share the matching; kept per batch only.
        followed: dict[frozenset[SubscriptionKey], frozenset[int]] = {}
        for person in people:
            if person.id not in owned:
                continue
            key_subs = frozenset(person.subscriptions)
            if key_subs not in followed:
                followed[key_subs] = followed_notices(source, key_subs)
            content = content_for(
                source,
                person.language,
                followed[key_subs],
                source.role_notices.get(person.id, frozenset()),
                windows[person.id],
            )
            if content.empty:
                result.empty += 1
            else:
                groups[content].append(person)
        changes: list[dict[str, Any]] = []
        for content, members in groups.items():
            message = render(source, content, period)
            enqueue(
                session,
                message,
                (
                    Addressee(
                        email=p.email,
                        name=p.name,
                        contact_id=p.id,
                        personalisation={
                            "name": p.name,
                            "preferences_url": preferences(p.id),
                            "unsubscribe_url": one_click(p.id, period.value) if p.subscriptions else "",
                        },
                        reason=_("Sammanfattning"),
                    )
                    for p in members
                ),
                domain=domain,
            )
            items = [[e.notice_id, e.update_id] for e in content.events]
            changes += [{"id": owned[p.id], "message_id": message.id, "items": items} for p in members]
            result.sent += len(members)
        if changes:
            session.execute(update(DigestRun), changes)
        session.commit()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(DigestRound)
        .values(period=period.value, period_key=key, finished_at=utcnow())
        .on_conflict_do_nothing(index_elements=["period", "period_key"])
    )
    session.commit()
    return result


def run_due(session: Session, now: datetime | None = None) -> list[RoundResult]:
    """The worker's periodic job: run each period whose round is due and not finished."""
    now = now or utcnow()
    results: list[RoundResult] = []
    if not current_app.config["DIGESTS_IN_WORKER"]:
        return results
    for period in PERIODS:
        key = due_key(period, now, current_app.config)
        if key is not None:
            outcome = run_round(session, period, now, key=key)
            if not outcome.already_done:
                results.append(outcome)
    return results


def preview(
    session: Session, contact: Contact, period: Frequency, now: datetime | None = None
) -> tuple[Content, OutgoingMessage | None]:
    """What ``contact``'s next digest of ``period`` would hold now; nothing is recorded."""
    now = now or utcnow()
    previous = _previous_until(session, period, [contact.id]).get(contact.id)
    people = _people(session, period, [contact.id])
    person = (
        people[0] if people else Person(contact.id, contact.email, contact.name, contact.language, [], None)
    )
    since = _since(person, previous, period, now)
    source = load_source(session, period, since, now)
    content = content_for(
        source,
        person.language,
        followed_notices(source, person.subscriptions),
        source.role_notices.get(contact.id, frozenset()),
        since,
    )
    return content, None if content.empty else render(source, content, period)
