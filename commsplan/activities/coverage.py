"""Coverage: which stakeholder groups a period's notices and activities reached, through
which channels and how many people, and which groups heard nothing.

People are counted from the outbox (sent rows of the notice's mail, by contact), so the
report never needs a second log. A contact counts for the groups it belonged to when the
mail was queued (``OutboxItemGroup``, written with the row), not for its groups today.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from commsplan.activities import services
from commsplan.activities.models import Activity, ActivityStatus
from commsplan.delivery.models import DeliveryState, OutboxItem, OutboxItemGroup, OutgoingMessage
from commsplan.notices.models import Notice, NoticeStatus
from commsplan.plan.models import StakeholderGroup


@dataclass
class Column:
    """A notice sent in the period (with its activities), or an activity done without one."""

    source: str  # "notice" or "activity"
    id: int
    title: str
    when: datetime
    activities: list[Activity] = field(default_factory=list)
    people: int = 0  # distinct contacts the notice's mail reached


@dataclass
class Cell:
    people: int = 0
    channels: list[str] = field(default_factory=list)  # how the group was reached
    planned: list[str] = field(default_factory=list)  # channels the activity planned for it

    @property
    def reached(self) -> bool:
        return self.people > 0 or bool(self.channels)


@dataclass
class Row:
    group: StakeholderGroup
    cells: list[Cell]

    @property
    def people(self) -> int:
        return sum(cell.people for cell in self.cells)

    @property
    def reached(self) -> bool:
        return any(cell.reached for cell in self.cells)


@dataclass
class Coverage:
    columns: list[Column]
    rows: list[Row]

    @property
    def missed(self) -> list[StakeholderGroup]:
        return [row.group for row in self.rows if not row.reached]


def _people_by_notice_and_group(session: Session, notice_ids: list[int]) -> dict[tuple[int, int], int]:
    if not notice_ids:
        return {}
    rows = session.execute(
        select(
            OutgoingMessage.source_id,
            OutboxItemGroup.group_id,
            func.count(func.lower(OutboxItem.to_address).distinct()),
        )
        .join(OutboxItem, OutboxItem.message_id == OutgoingMessage.id)
        .join(OutboxItemGroup, OutboxItemGroup.outbox_item_id == OutboxItem.id)
        .where(
            OutgoingMessage.source_type == "notice",
            OutgoingMessage.source_id.in_(notice_ids),
            OutboxItem.state == DeliveryState.sent,
        )
        .group_by(OutgoingMessage.source_id, OutboxItemGroup.group_id)
    )
    return {(notice_id, group_id): count for notice_id, group_id, count in rows}


def _people_by_notice(session: Session, notice_ids: list[int]) -> dict[int, int]:
    if not notice_ids:
        return {}
    rows = session.execute(
        select(OutgoingMessage.source_id, func.count(func.lower(OutboxItem.to_address).distinct()))
        .join(OutboxItem, OutboxItem.message_id == OutgoingMessage.id)
        .where(
            OutgoingMessage.source_type == "notice",
            OutgoingMessage.source_id.in_(notice_ids),
            OutboxItem.state == DeliveryState.sent,
        )
        .group_by(OutgoingMessage.source_id)
    )
    return dict(rows.tuples().all())


def coverage(session: Session, start: datetime, end: datetime, mail_channel: str | None = None) -> Coverage:
    """The matrix for notices published in [start, end) and activities done in it."""
    mail = mail_channel or _("E-post")
    notices = list(
        session.scalars(
            select(Notice)
            .where(
                Notice.published_at >= start,
                Notice.published_at < end,
                Notice.status != NoticeStatus.draft,
            )
            .order_by(Notice.published_at, Notice.id)
            .limit(500)
        )
    )
    by_notice = services.activities_by_notice(session, [n.id for n in notices], live=True)
    columns = []
    for notice in notices:
        linked = by_notice.get(notice.id, [])
        assert notice.published_at is not None
        columns.append(Column("notice", notice.id, notice.title, notice.published_at, linked))
    candidates = session.scalars(
        select(Activity)
        .options(selectinload(Activity.notices))
        .where(Activity.status == ActivityStatus.done)
        .order_by(Activity.id)
        .limit(1000)
    )
    for activity in candidates:
        moment = services.due(activity) or activity.updated_at
        if activity.notices or not start <= moment < end:
            continue
        columns.append(Column("activity", activity.id, activity.title, moment, [activity]))
    columns.sort(key=lambda c: (c.when, c.source, c.id))

    notice_ids = [c.id for c in columns if c.source == "notice"]
    by_group = _people_by_notice_and_group(session, notice_ids)
    totals = _people_by_notice(session, notice_ids)
    for column in columns:
        if column.source == "notice":
            column.people = totals.get(column.id, 0)

    groups = list(
        session.scalars(select(StakeholderGroup).order_by(StakeholderGroup.position, StakeholderGroup.name))
    )
    rows = []
    for group in groups:
        cells = []
        for column in columns:
            cell = Cell()
            planned = sorted(
                {
                    c.name
                    for a in column.activities
                    for g in a.groups
                    if g.group_id == group.id
                    for c in g.channels
                }
            )
            cell.planned = planned
            if column.source == "notice":
                cell.people = by_group.get((column.id, group.id), 0)
                if cell.people:
                    cell.channels = [mail]
            elif any(g.group_id == group.id for a in column.activities for g in a.groups):
                # An activity done without a notice reached the group through its planned channels.
                cell.channels = planned
            cells.append(cell)
        rows.append(Row(group, cells))
    return Coverage(columns, rows)


def csv_rows(report: Coverage) -> tuple[list[str], list[list[object]]]:
    header = (
        [_("Intressentgrupp")] + [f"{c.when:%Y-%m-%d} {c.title}" for c in report.columns] + [_("Personer")]
    )
    rows = []
    for row in report.rows:
        cells: list[object] = [row.group.name]
        for cell in row.cells:
            parts = []
            if cell.people:
                parts.append(str(cell.people))
            if cell.channels:
                parts.append(", ".join(cell.channels))
            cells.append(" ".join(parts) if parts else "–")
        cells.append(row.people)
        rows.append(cells)
    return header, rows
