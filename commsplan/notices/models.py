"""Notices: release information, planned service windows, outages and general information.

A notice is a draft until it is published; after that it changes only through updates
(``NoticeUpdate`` rows) so every recipient has seen every published word.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import (
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from commsplan.auth.models import User
from commsplan.extensions import db
from commsplan.kinds import NoticeKind, Severity
from commsplan.plan.models import Service, StakeholderGroup, System
from commsplan.timeutil import utcnow
from commsplan.types import UTCDateTime, link_table


def _enum(cls: type[enum.Enum]) -> Enum:
    # VARCHAR + CHECK rather than a native type: adding a member needs no ALTER TYPE.
    return Enum(cls, native_enum=False, length=30, validate_strings=True)


def new_uid() -> str:
    return uuid.uuid4().hex


class NoticeStatus(enum.Enum):
    draft = "draft"
    published = "published"
    closed = "closed"
    cancelled = "cancelled"


class OutageState(enum.Enum):
    investigating = "investigating"
    identified = "identified"
    monitoring = "monitoring"
    resolved = "resolved"


class UpdateKind(enum.Enum):
    published = "published"
    update = "update"
    rescheduled = "rescheduled"
    extended = "extended"
    reminder = "reminder"
    started = "started"
    ended = "ended"
    closed = "closed"
    cancelled = "cancelled"


notice_service = link_table("notice_service", ("notice_id", "notice.id"), ("service_id", "service.id"))

notice_system = link_table("notice_system", ("notice_id", "notice.id"), ("system_id", "system.id"))

notice_group = link_table(
    "notice_stakeholder_group", ("notice_id", "notice.id"), ("group_id", "stakeholder_group.id")
)


class Notice(db.Model):
    # The public pages' version query (``services.public_version_statement``) runs on every
    # visit to /status: with these, its window and history parts are index lookups instead
    # of scans of every notice.
    __table_args__ = (
        Index("ix_notice_kind_status_starts_at", "kind", "status", "starts_at"),
        Index("ix_notice_kind_status_ends_at", "kind", "status", "ends_at"),
        Index("ix_notice_status_closed_at", "status", "closed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(64), unique=True, default=new_uid)
    kind: Mapped[NoticeKind] = mapped_column(_enum(NoticeKind))
    title: Mapped[str] = mapped_column(String(200))
    body_markdown: Mapped[str] = mapped_column(Text, default="")
    # Optional English wording for contacts whose language is English; empty = as written.
    title_en: Mapped[str] = mapped_column(String(200), default="")
    body_markdown_en: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[NoticeStatus] = mapped_column(_enum(NoticeStatus), default=NoticeStatus.draft)
    severity: Mapped[Severity | None] = mapped_column(_enum(Severity))
    outage_state: Mapped[OutageState | None] = mapped_column(_enum(OutageState))
    # Service window start / outage start, and its end.
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    release_date: Mapped[date | None] = mapped_column(Date)
    version: Mapped[str] = mapped_column(String(100), default="")
    changes_for_staff: Mapped[str] = mapped_column(Text, default="")
    changes_for_residents: Mapped[str] = mapped_column(Text, default="")
    # Minutes before start for the service-window reminder; None = the working day before.
    reminder_minutes: Mapped[int | None] = mapped_column(Integer)
    # Raised on every published change (calendars use it as SEQUENCE).
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    # Raised only when the window moves, so its reminder/start/end are sent again.
    schedule_version: Mapped[int] = mapped_column(Integer, default=0)
    # Raised only when the start moves: an extended window gets no second reminder or start.
    start_version: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Indexed: the status page's change marker reads the latest on every request.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, index=True)

    services: Mapped[list[Service]] = relationship(secondary=notice_service, order_by="Service.position")
    systems: Mapped[list[System]] = relationship(secondary=notice_system, order_by="System.name")
    groups: Mapped[list[StakeholderGroup]] = relationship(
        secondary=notice_group, order_by="StakeholderGroup.position"
    )
    created_by: Mapped[User | None] = relationship()
    updates: Mapped[list[NoticeUpdate]] = relationship(
        back_populates="notice", order_by="NoticeUpdate.id", cascade="all, delete-orphan"
    )
    audience_edits: Mapped[list[AudienceEdit]] = relationship(
        back_populates="notice", order_by="AudienceEdit.id", cascade="all, delete-orphan"
    )

    @property
    def is_draft(self) -> bool:
        return self.status is NoticeStatus.draft

    @property
    def is_open(self) -> bool:
        return self.status is NoticeStatus.published

    def __repr__(self) -> str:
        return f"<Notice {self.id} {self.kind.value} {self.status.value} {self.title!r}>"


class NoticeUpdate(db.Model):
    """One entry of a notice's timeline; ``sent`` updates went out by mail."""

    __tablename__ = "notice_update"

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"), index=True)
    kind: Mapped[UpdateKind] = mapped_column(_enum(UpdateKind), default=UpdateKind.update)
    body_markdown: Mapped[str] = mapped_column(Text, default="")
    outage_state: Mapped[OutageState | None] = mapped_column(_enum(OutageState))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    # Kept as text: the scheduler and deleted accounts have no user row.
    author_name: Mapped[str] = mapped_column(String(200), default="")
    sent: Mapped[bool] = mapped_column(default=False)
    recipient_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    notice: Mapped[Notice] = relationship(back_populates="updates")
    author: Mapped[User | None] = relationship()


class AudienceEdit(db.Model):
    """The coordinator's change to the computed recipient list: add or remove an address."""

    __tablename__ = "notice_audience_edit"
    __table_args__ = (UniqueConstraint("notice_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))  # lower case
    name: Mapped[str] = mapped_column(String(200), default="")
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"))
    included: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    notice: Mapped[Notice] = relationship(back_populates="audience_edits")


class ScheduleEvent(db.Model):
    """A scheduled mail that was sent; the unique key makes sending it twice impossible."""

    __tablename__ = "notice_schedule_event"
    __table_args__ = (UniqueConstraint("notice_id", "event", "sequence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(30))
    # The notice's schedule_version when sent: a moved window gets its events again.
    sequence: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    notice: Mapped[Notice] = relationship()
