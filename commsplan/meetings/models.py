"""Meeting series, their materialised occurrences, agendas and registrations.

A series holds the cadence (an RFC 5545 RRULE or an explicit list of dates) in local
Europe/Stockholm wall time; occurrences are rows generated from it up to a horizon, so
single occurrences can be moved, cancelled and given an agenda without touching the rest.
Occurrence start/end are stored in UTC (``UTCDateTime``).
"""

from __future__ import annotations

import enum
import secrets
import uuid
from datetime import date, datetime, time

from sqlalchemy import (
    JSON,
    Date,
    Enum,
    ForeignKey,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from commsplan.extensions import db
from commsplan.plan.models import Contact, StakeholderGroup, Unit
from commsplan.timeutil import utcnow
from commsplan.types import UTCDateTime, link_table

TIMEZONE = "Europe/Stockholm"


def _enum(cls: type[enum.Enum]) -> Enum:
    # VARCHAR + CHECK like the plan models: adding a member needs no ALTER TYPE.
    return Enum(cls, native_enum=False, length=30, validate_strings=True)


def new_uid() -> str:
    return f"{uuid.uuid4()}@commsplan"


def new_token() -> str:
    return secrets.token_urlsafe(24)


class MeetingKind(enum.Enum):
    network = "network"
    collaboration = "collaboration"
    information = "information"
    other = "other"


class HolidayPolicy(enum.Enum):
    skip = "skip"
    next_working_day = "next_working_day"


class OccurrenceStatus(enum.Enum):
    scheduled = "scheduled"
    cancelled = "cancelled"


meeting_series_contact = link_table(
    "meeting_series_contact", ("series_id", "meeting_series.id"), ("contact_id", "contact.id")
)

meeting_series_unit = link_table(
    "meeting_series_unit", ("series_id", "meeting_series.id"), ("unit_id", "unit.id")
)

meeting_series_group = link_table(
    "meeting_series_group", ("series_id", "meeting_series.id"), ("group_id", "stakeholder_group.id")
)


class MeetingSeries(db.Model):
    """A recurring meeting: the network, a collaboration, an information meeting."""

    __tablename__ = "meeting_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[MeetingKind] = mapped_column(_enum(MeetingKind), default=MeetingKind.other)
    uid: Mapped[str] = mapped_column(String(200), unique=True, default=new_uid)

    # RFC 5545 RRULE text without "RRULE:" (e.g. "FREQ=MONTHLY;BYDAY=2TU"); None = explicit dates.
    rrule: Mapped[str | None] = mapped_column(String(500))
    explicit_dates: Mapped[list[str] | None] = mapped_column(JSON)
    # DTSTART of the rule (local date); the rule yields nothing before it.
    starts_on: Mapped[date] = mapped_column(Date)
    start_time: Mapped[time] = mapped_column(Time)  # local wall time in ``timezone``
    duration_minutes: Mapped[int] = mapped_column(Integer, default=60)
    timezone: Mapped[str] = mapped_column(String(50), default=TIMEZONE)

    location: Mapped[str] = mapped_column(String(300), default="")
    online_url: Mapped[str] = mapped_column(String(1000), default="")
    organiser_name: Mapped[str] = mapped_column(String(200), default="")
    organiser_email: Mapped[str] = mapped_column(String(254), default="")

    holiday_policy: Mapped[HolidayPolicy] = mapped_column(_enum(HolidayPolicy), default=HolidayPolicy.skip)
    july_break: Mapped[bool] = mapped_column(default=False)
    registration_open: Mapped[bool] = mapped_column(default=False)
    # A calendar reminder (VALARM) this many minutes before each meeting; None: none.
    reminder_minutes: Mapped[int | None] = mapped_column(Integer)

    # Occurrences exist up to this local date; the periodic job rolls it forward daily.
    materialised_until: Mapped[date | None] = mapped_column(Date)

    sequence: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    contacts: Mapped[list[Contact]] = relationship(secondary=meeting_series_contact, order_by="Contact.name")
    units: Mapped[list[Unit]] = relationship(secondary=meeting_series_unit, order_by="Unit.name")
    groups: Mapped[list[StakeholderGroup]] = relationship(
        secondary=meeting_series_group, order_by="StakeholderGroup.position"
    )
    occurrences: Mapped[list[Occurrence]] = relationship(
        back_populates="series", order_by="Occurrence.start", cascade="all, delete-orphan"
    )


class Occurrence(db.Model):
    """One meeting of a series, materialised so it can carry overrides and an agenda."""

    __table_args__ = (UniqueConstraint("series_id", "original_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("meeting_series.id", ondelete="CASCADE"), index=True)
    uid: Mapped[str] = mapped_column(String(250), unique=True)
    # The slot the rule (or date list) produced; RECURRENCE-ID for calendar overrides.
    original_start: Mapped[datetime] = mapped_column(UTCDateTime())
    start: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    end: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[OccurrenceStatus] = mapped_column(
        _enum(OccurrenceStatus), default=OccurrenceStatus.scheduled
    )
    location: Mapped[str] = mapped_column(String(300), default="")  # "" = the series' location
    online_url: Mapped[str] = mapped_column(String(1000), default="")  # "" = the series' link
    note: Mapped[str] = mapped_column(Text, default="")
    # Set when a coordinator moved or cancelled this one occurrence: regeneration keeps it.
    overridden: Mapped[bool] = mapped_column(default=False)
    # Set when a rule change dropped this slot: kept (cancelled) so calendars learn of it.
    superseded: Mapped[bool] = mapped_column(default=False)
    # Name of the public holiday the slot fell on, when the series moved it.
    holiday_name: Mapped[str] = mapped_column(String(200), default="")

    practical_notes: Mapped[str] = mapped_column(Text, default="")  # Markdown
    material_url: Mapped[str] = mapped_column(String(1000), default="")
    minutes_url: Mapped[str] = mapped_column(String(1000), default="")
    minutes_markdown: Mapped[str] = mapped_column(Text, default="")

    sequence: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    series: Mapped[MeetingSeries] = relationship(back_populates="occurrences")
    agenda_items: Mapped[list[AgendaItem]] = relationship(
        back_populates="occurrence", order_by="AgendaItem.position", cascade="all, delete-orphan"
    )
    registrations: Mapped[list[Registration]] = relationship(
        back_populates="occurrence", order_by="Registration.created_at", cascade="all, delete-orphan"
    )

    @property
    def confirmed_registrations(self) -> list[Registration]:
        """The sign-ups that count: pending ones wait for their address's confirmation."""
        return [reg for reg in self.registrations if reg.is_confirmed]

    @property
    def is_cancelled(self) -> bool:
        return self.status is OccurrenceStatus.cancelled

    @property
    def is_moved(self) -> bool:
        return self.start != self.original_start

    @property
    def effective_location(self) -> str:
        return self.location or self.series.location

    @property
    def effective_online_url(self) -> str:
        return self.online_url or self.series.online_url


class AgendaItem(db.Model):
    """A numbered agenda item, or a break; start times follow from the durations."""

    id: Mapped[int] = mapped_column(primary_key=True)
    occurrence_id: Mapped[int] = mapped_column(ForeignKey("occurrence.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(300))
    presenter: Mapped[str] = mapped_column(String(200), default="")
    duration_minutes: Mapped[int] = mapped_column(Integer, default=0)
    is_break: Mapped[bool] = mapped_column(default=False)
    # A set local start (e.g. "Paus ca 9.50"); later items continue from it.
    fixed_start: Mapped[time | None] = mapped_column(Time)
    notes: Mapped[str] = mapped_column(Text, default="")
    material_url: Mapped[str] = mapped_column(String(1000), default="")

    occurrence: Mapped[Occurrence] = relationship(back_populates="agenda_items")


class Registration(db.Model):
    """A sign-up for an information meeting occurrence.

    Valid once ``confirmed_at`` is set: at once for an address the plan already knows,
    otherwise when the owner of the address follows the confirmation link (whose token is
    stored only as a hash). Until then it is not counted, listed or mailed about.
    """

    __table_args__ = (UniqueConstraint("occurrence_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurrence_id: Mapped[int] = mapped_column(ForeignKey("occurrence.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))  # stored lower-case: one sign-up per address
    organisation: Mapped[str] = mapped_column(String(300), default="")
    # The language of the mail about this sign-up ("sv" or "en").
    language: Mapped[str] = mapped_column(String(5), default="sv")
    token: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirm_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    confirm_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    occurrence: Mapped[Occurrence] = relationship(back_populates="registrations")

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None
