"""The coordinator's start page: what needs attention now, each item with where it is handled.

One function, ``attention``, gathers every list with a bounded query each, so the page
costs the same whether the region has sent ten notices or ten thousand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session, selectinload

from commsplan.activities import services
from commsplan.activities.models import Activity, ActivityStatus
from commsplan.delivery.models import FAILED_PREDICATE, OutboxItem
from commsplan.meetings.models import Occurrence, OccurrenceStatus, Registration
from commsplan.notices.models import Notice, NoticeKind, NoticeStatus, NoticeUpdate
from commsplan.timeutil import STOCKHOLM


@dataclass
class OngoingOutage:
    notice: Notice
    last_update: datetime
    minutes_since: int
    overdue: bool  # no update for longer than the interval: time to tell people again


@dataclass
class Upcoming:
    notice: Notice
    when: datetime
    activities: list[Activity]
    complete: bool


@dataclass
class DueActivity:
    activity: Activity
    due: datetime
    missing: int


@dataclass
class FailedAddress:
    address: str
    failures: int
    last_error: str
    last_message_id: int


@dataclass
class NextMeeting:
    occurrence: Occurrence
    registrations: int


@dataclass
class Attention:
    outages: list[OngoingOutage]
    upcoming: list[Upcoming]
    due_this_week: list[DueActivity]
    waiting_for_checklist: list[Notice]
    drafts_without_activity: list[Notice]
    failed_addresses: list[FailedAddress]
    meetings: list[NextMeeting]

    @property
    def empty(self) -> bool:
        return not any(
            (
                self.outages,
                self.upcoming,
                self.due_this_week,
                self.waiting_for_checklist,
                self.drafts_without_activity,
                self.failed_addresses,
                self.meetings,
            )
        )


def _outages(session: Session, now: datetime, interval: int) -> list[OngoingOutage]:
    ongoing = (Notice.kind == NoticeKind.outage, Notice.status == NoticeStatus.published)
    # Only the ongoing outages' updates: every notice ever sent has a timeline.
    last = (
        select(NoticeUpdate.notice_id, func.max(NoticeUpdate.created_at).label("last"))
        .where(NoticeUpdate.notice_id.in_(select(Notice.id).where(*ongoing)))
        .group_by(NoticeUpdate.notice_id)
        .subquery()
    )
    rows = session.execute(
        select(Notice, last.c.last)
        .outerjoin(last, last.c.notice_id == Notice.id)
        .where(*ongoing)
        .order_by(Notice.published_at)
        .limit(50)
    )
    outages = []
    for notice, last_update in rows:
        moment = last_update or notice.published_at or notice.created_at
        if moment.tzinfo is None:  # SQLite hands back the aggregate as naive UTC
            moment = moment.replace(tzinfo=now.tzinfo)
        minutes = max(int((now - moment).total_seconds() // 60), 0)
        outages.append(OngoingOutage(notice, moment, minutes, minutes >= interval))
    return outages


def _upcoming(session: Session, now: datetime, days: int) -> list[Upcoming]:
    end = now + timedelta(days=days)
    today = now.astimezone(STOCKHOLM).date()
    notices = session.scalars(
        select(Notice)
        .where(
            Notice.status.in_([NoticeStatus.draft, NoticeStatus.published]),
            or_(
                (Notice.kind == NoticeKind.service_window)
                & (Notice.ends_at >= now)
                & (Notice.starts_at < end),
                (Notice.kind == NoticeKind.release)
                & (Notice.release_date >= today)
                & (Notice.release_date <= end.astimezone(STOCKHOLM).date()),
            ),
        )
        .limit(100)
    )
    notices = list(notices)
    by_notice = services.activities_by_notice(session, [n.id for n in notices], live=True)
    upcoming = []
    for notice in notices:
        when = notice.starts_at or services.anchor_of_notice(notice)
        assert when is not None
        linked = by_notice.get(notice.id, [])
        upcoming.append(Upcoming(notice, when, linked, services.prepared(linked)))
    return sorted(upcoming, key=lambda item: item.when)


def _due_this_week(session: Session, now: datetime) -> list[DueActivity]:
    local = now.astimezone(STOCKHOLM)
    week_start = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    week_end = week_start + timedelta(days=7)
    candidates = session.scalars(
        services.with_checklist(select(Activity))
        .where(Activity.status.in_([ActivityStatus.idea, ActivityStatus.planned]))
        .order_by(Activity.id.desc())
        .limit(300)
    )
    due = []
    for activity in candidates:
        moment = services.due(activity)
        if moment is not None and week_start <= moment < week_end:
            due.append(DueActivity(activity, moment, len(services.missing_answers(activity))))
    return sorted(due, key=lambda item: item.due)


def _drafts_without_activity(session: Session) -> list[Notice]:
    drafts = session.scalars(
        select(Notice)
        .where(Notice.status == NoticeStatus.draft, Notice.kind.in_(services.GATED_KINDS))
        .order_by(Notice.created_at.desc())
        .limit(50)
    )
    drafts = list(drafts)
    by_notice = services.activities_by_notice(session, [n.id for n in drafts], live=True)
    return [n for n in drafts if not services.prepared(by_notice.get(n.id, []))]


def _failed_addresses(session: Session, now: datetime, days: int = 30) -> list[FailedAddress]:
    rows = session.execute(
        select(OutboxItem.to_address, func.count(), func.max(OutboxItem.id))
        # Verbatim: the partial index's predicate (SQLite matches it only as written).
        .where(text(FAILED_PREDICATE), OutboxItem.created_at >= now - timedelta(days=days))
        .group_by(OutboxItem.to_address)
        .order_by(func.max(OutboxItem.id).desc())
        .limit(20)
    ).all()
    last_items = {
        item.id: item
        for item in session.scalars(select(OutboxItem).where(OutboxItem.id.in_([r[2] for r in rows])))
    }
    return [
        FailedAddress(address, count, last_items[last_id].last_error, last_items[last_id].message_id)
        for address, count, last_id in rows
    ]


def _meetings(session: Session, now: datetime, limit: int = 5) -> list[NextMeeting]:
    counts = (
        select(Registration.occurrence_id, func.count().label("n"))
        .group_by(Registration.occurrence_id)
        .subquery()
    )
    rows = session.execute(
        select(Occurrence, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.occurrence_id == Occurrence.id)
        .options(selectinload(Occurrence.series))
        .where(Occurrence.start >= now, Occurrence.status != OccurrenceStatus.cancelled)
        .order_by(Occurrence.start)
        .limit(limit)
    )
    return [NextMeeting(occurrence, count) for occurrence, count in rows]


def attention(
    session: Session, now: datetime, *, update_interval_minutes: int = 30, days_ahead: int = 14
) -> Attention:
    return Attention(
        outages=_outages(session, now, update_interval_minutes),
        upcoming=_upcoming(session, now, days_ahead),
        due_this_week=_due_this_week(session, now),
        waiting_for_checklist=services.outages_awaiting_checklist(session, limit=20),
        drafts_without_activity=_drafts_without_activity(session),
        failed_addresses=_failed_addresses(session, now),
        meetings=_meetings(session, now),
    )
