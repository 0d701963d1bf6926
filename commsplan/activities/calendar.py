"""The communication calendar: activities, notices and meetings of a period in one list,
filtered by stakeholder group, e-service and channel, for the month and list pages and the
same selection as ICS and CSV."""

from __future__ import annotations

import calendar as pycalendar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from flask_babel import gettext as _
from icalendar import Event
from icalendar.enums import STATUS, TRANSP
from sqlalchemy import Row, or_, select
from sqlalchemy.orm import Session, selectinload

from commsplan.activities import services
from commsplan.activities.labels import ACTIVITY_KIND_LABELS, ACTIVITY_STATUS_LABELS
from commsplan.activities.models import Activity, ActivityStatus
from commsplan.feeds import ical
from commsplan.i18n import TranslatedLabels
from commsplan.meetings.models import Occurrence, OccurrenceStatus
from commsplan.notices.labels import KIND_LABELS, STATUS_LABELS
from commsplan.notices.models import Notice, NoticeKind, NoticeStatus, notice_group, notice_service
from commsplan.notices.services import linked_to_notices
from commsplan.plan.models import Channel, ChannelKind, Service, StakeholderGroup
from commsplan.timeutil import STOCKHOLM


@dataclass(frozen=True)
class CalendarFilter:
    group_id: int | None = None
    service_id: int | None = None
    channel: Channel | None = None

    @property
    def active(self) -> bool:
        return bool(self.group_id or self.service_id or self.channel)


@dataclass
class CalendarItem:
    source: str  # "activity", "notice" or "meeting"
    id: int
    uid: str
    title: str
    start: datetime
    end: datetime | None
    all_day: bool
    kind_label: str
    state_label: str = ""
    cancelled: bool = False
    groups: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    changed_at: datetime | None = None

    @property
    def day(self) -> date:
        return self.start.astimezone(STOCKHOLM).date()


def month_range(year: int, month: int) -> tuple[datetime, datetime]:
    start = datetime(year, month, 1, tzinfo=STOCKHOLM)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=STOCKHOLM)
    return start, end


def month_weeks(year: int, month: int) -> list[list[date | None]]:
    """Monday-first weeks of the month; days outside it are None."""
    return [
        [day if day.month == month else None for day in week]
        for week in pycalendar.Calendar(firstweekday=0).monthdatescalendar(year, month)
    ]


def _activity_items(
    session: Session, start: datetime, end: datetime, wanted: CalendarFilter
) -> list[CalendarItem]:
    activities = session.scalars(
        services.with_checklist(select(Activity))
        .where(Activity.status != ActivityStatus.dropped)
        .order_by(Activity.id.desc())
        .limit(1000)
    )
    items = []
    for activity in activities:
        moment = services.due(activity)
        if moment is None or not start <= moment < end:
            continue
        groups = [g.group for g in activity.groups]
        channels = [c for g in activity.groups for c in g.channels]
        service_list = [s for n in activity.notices for s in n.services]
        if wanted.group_id and wanted.group_id not in {g.id for g in groups}:
            continue
        if wanted.service_id and wanted.service_id not in {s.id for s in service_list}:
            continue
        if wanted.channel and wanted.channel.id not in {c.id for c in channels}:
            continue
        items.append(
            CalendarItem(
                "activity",
                activity.id,
                f"activity-{activity.id}@commsplan",
                activity.title,
                moment,
                None,
                False,
                _("Aktivitet: %(kind)s", kind=ACTIVITY_KIND_LABELS[activity.kind]),
                str(ACTIVITY_STATUS_LABELS[activity.status]),
                groups=[g.name for g in groups],
                services=sorted({s.name for s in service_list}),
                channels=sorted({c.name for c in channels}),
                changed_at=activity.updated_at,
            )
        )
    return items


# The columns the calendar shows of a notice: whole Notice objects (bodies, a dozen dates)
# with their e-services and groups were most of the month page's time.
_NOTICE_COLUMNS = (
    Notice.id,
    Notice.uid,
    Notice.kind,
    Notice.title,
    Notice.status,
    Notice.release_date,
    Notice.starts_at,
    Notice.ends_at,
    Notice.published_at,
    Notice.updated_at,
)


def _notice_moment(notice: Row[Any]) -> tuple[datetime, datetime | None, bool] | None:
    if notice.kind is NoticeKind.release and notice.release_date is not None:
        return datetime.combine(notice.release_date, time(0, 0), tzinfo=STOCKHOLM), None, True
    if notice.starts_at is not None:
        return notice.starts_at, notice.ends_at, False
    if notice.published_at is not None:
        return notice.published_at, None, False
    return None


def _notice_items(
    session: Session, start: datetime, end: datetime, wanted: CalendarFilter
) -> list[CalendarItem]:
    day_start, day_end = start.astimezone(STOCKHOLM).date(), end.astimezone(STOCKHOLM).date()
    notices = session.execute(
        select(*_NOTICE_COLUMNS)
        .where(
            or_(
                Notice.release_date.between(day_start, day_end),
                (Notice.starts_at < end) & (Notice.starts_at >= start - timedelta(days=62)),
                (Notice.starts_at.is_(None)) & (Notice.published_at >= start) & (Notice.published_at < end),
            )
        )
        .order_by(Notice.id)
        .limit(2000)
    ).all()
    shown = []
    for notice in notices:
        moment = _notice_moment(notice)
        if moment is not None and moment[0] < end and (moment[1] or moment[0]) >= start:
            shown.append((notice, moment))
    ids = [notice.id for notice, _moment in shown]
    services_of = linked_to_notices(session, notice_service, "service_id", Service, ids)
    groups_of = linked_to_notices(session, notice_group, "group_id", StakeholderGroup, ids)
    by_notice = services.activities_by_notice(session, ids, live=True)
    kind_labels, status_labels = TranslatedLabels(KIND_LABELS), TranslatedLabels(STATUS_LABELS)
    items = []
    for notice, (begins, ends, all_day) in shown:
        linked = by_notice.get(notice.id, [])
        groups = {name: group_id for group_id, name in groups_of.get(notice.id, [])} | {
            g.group.name: g.group_id for a in linked for g in a.groups
        }
        channels = {c.id: c.name for a in linked for g in a.groups for c in g.channels}
        if wanted.group_id and wanted.group_id not in groups.values():
            continue
        notice_services = services_of.get(notice.id, [])
        if wanted.service_id and wanted.service_id not in {service for service, _name in notice_services}:
            continue
        if wanted.channel and wanted.channel.id not in channels:
            continue
        items.append(
            CalendarItem(
                "notice",
                notice.id,
                notice.uid,
                notice.title,
                begins,
                ends,
                all_day,
                kind_labels[notice.kind],
                status_labels[notice.status],
                cancelled=notice.status is NoticeStatus.cancelled,
                groups=sorted(groups),
                services=[name for _id, name in notice_services],
                channels=sorted(channels.values()),
                changed_at=notice.updated_at,
            )
        )
    return items


def _meeting_items(
    session: Session, start: datetime, end: datetime, wanted: CalendarFilter
) -> list[CalendarItem]:
    # Meetings have no stakeholder groups or e-services; they are the "network meeting" channel.
    if wanted.group_id or wanted.service_id:
        return []
    if wanted.channel and wanted.channel.kind is not ChannelKind.meeting:
        return []
    occurrences = session.scalars(
        select(Occurrence)
        .options(selectinload(Occurrence.series))
        .where(Occurrence.start < end, Occurrence.end > start, Occurrence.superseded.is_(False))
        .order_by(Occurrence.start)
        .limit(500)
    )
    return [
        CalendarItem(
            "meeting",
            o.id,
            o.uid,
            o.series.title,
            o.start,
            o.end,
            False,
            _("Möte"),
            _("Inställt") if o.status is OccurrenceStatus.cancelled else "",
            cancelled=o.status is OccurrenceStatus.cancelled,
            changed_at=o.updated_at,
        )
        for o in occurrences
    ]


def items(session: Session, start: datetime, end: datetime, wanted: CalendarFilter) -> list[CalendarItem]:
    """Everything of [start, end) that matches ``wanted``, in time order."""
    found = (
        _activity_items(session, start, end, wanted)
        + _notice_items(session, start, end, wanted)
        + _meeting_items(session, start, end, wanted)
    )
    return sorted(found, key=lambda item: (item.start, item.source, item.id))


CSV_HEADER = ("start", "slut", "heldag", "typ", "rubrik", "status", "målgrupper", "e-tjänster", "kanaler")


def csv_rows(found: list[CalendarItem]) -> list[list[object]]:
    def stamp(value: datetime | None, all_day: bool) -> str:
        if value is None:
            return ""
        local = value.astimezone(STOCKHOLM)
        return local.strftime("%Y-%m-%d") if all_day else local.strftime("%Y-%m-%d %H:%M")

    return [
        [
            stamp(i.start, i.all_day),
            stamp(i.end, i.all_day),
            "ja" if i.all_day else "nej",
            i.kind_label,
            i.title,
            i.state_label,
            ", ".join(i.groups),
            ", ".join(i.services),
            ", ".join(i.channels),
        ]
        for i in found
    ]


def to_ics(found: list[CalendarItem], name: str, url_for_item: dict[tuple[str, int], str]) -> bytes:
    """The selection as iCalendar, through the same builders as the calendar feeds."""
    events = []
    for item in found:
        start: date | datetime = item.start.astimezone(STOCKHOLM)
        end: date | datetime | None = item.end.astimezone(STOCKHOLM) if item.end else None
        if item.all_day:
            start = item.day
            end = item.day + timedelta(days=1)
        url = url_for_item.get((item.source, item.id))
        events.append(
            Event.new(
                uid=item.uid,
                stamp=item.changed_at or item.start,
                start=start,
                end=end if end is None or end > start else None,
                summary=f"{item.kind_label}: {item.title}",
                description=url and _("Mer information: %(url)s", url=url),
                status=STATUS.CANCELLED if item.cancelled else STATUS.CONFIRMED,
                url=url or None,
                transparency=TRANSP.TRANSPARENT,
                categories=[item.kind_label],
            )
        )
    return ical.to_bytes(ical.calendar_of(name, events))
