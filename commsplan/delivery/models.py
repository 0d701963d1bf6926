"""The durable outbox: one rendered mail (``OutgoingMessage``) and one row per recipient
(``OutboxItem``), written in the same transaction as the change that causes the mail.

A worker claims items, sends them and records the outcome on the row, so a crash at any
moment loses nothing: an item is either still queued, claimed with a lease that runs out,
or marked sent.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Enum, ForeignKey, Index, Integer, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from commsplan.extensions import db
from commsplan.timeutil import utcnow
from commsplan.types import UTCDateTime


class MessageKind(enum.StrEnum):
    """What a mail is, as stored in ``OutgoingMessage.kind``; every kind has a label in the UI."""

    notice = "notice"
    notice_update = "notice_update"
    reminder = "reminder"
    invitation = "invitation"
    invitation_update = "invitation_update"
    invitation_cancel = "invitation_cancel"
    registration = "registration"
    registration_update = "registration_update"
    registration_confirm = "registration_confirm"


class SourceType(enum.StrEnum):
    """What a mail is about (``OutgoingMessage.source_type``): its delivery page is per source."""

    notice = "notice"
    occurrence = "occurrence"


class DeliveryState(enum.Enum):
    queued = "queued"
    sending = "sending"
    sent = "sent"
    retrying = "retrying"
    failed = "failed"
    cancelled = "cancelled"


def _enum(cls: type[enum.Enum]) -> Enum:
    # VARCHAR + CHECK rather than a native type: adding a member needs no ALTER TYPE.
    return Enum(cls, native_enum=False, length=30, validate_strings=True)


# Rows the worker still has to deal with. Queries that want the partial index below must
# contain this text verbatim: both databases only use a partial index when the query
# provably implies its predicate, and bound parameters prove nothing.
PENDING_PREDICATE = "state IN ('queued', 'retrying', 'sending')"
# The failed rows only: the start page's "failed addresses" of the last days. A partial
# index, so the two state changes of every mail sent do not maintain it.
FAILED_PREDICATE = "state = 'failed'"

# Claim order: lower first. Notices (outages, service windows) are time-critical and must
# not wait behind a region's digests when the relay's limits slow sending down.
PRIORITY_URGENT = 0
PRIORITY_NORMAL = 1
PRIORITY_BULK = 2
_URGENT_KINDS = frozenset({MessageKind.notice, MessageKind.notice_update})


def priority_of(kind: str) -> int:
    """Where mail of ``kind`` (``OutgoingMessage.kind``) goes in the queue."""
    if kind in _URGENT_KINDS:
        return PRIORITY_URGENT
    if kind.startswith("digest_"):
        return PRIORITY_BULK
    return PRIORITY_NORMAL


class OutgoingMessage(db.Model):
    """One rendered mail shared by many recipients; ``%%key%%`` markers are personalised."""

    __tablename__ = "outgoing_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))
    subject: Mapped[str] = mapped_column(String(998))
    text_body: Mapped[str] = mapped_column(Text, default="")
    html_body: Mapped[str] = mapped_column(Text, default="")
    # Extra headers, e.g. {"In-Reply-To": "<…>", "References": "<…>"}.
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # [{"filename": …, "content_type": …, "content": <text>}]
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # "" means MAIL_DEFAULT_SENDER.
    sender: Mapped[str] = mapped_column(String(320), default="")
    source_type: Mapped[str] = mapped_column(String(50), default="")
    source_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    items: Mapped[list[OutboxItem]] = relationship(back_populates="message", order_by="OutboxItem.id")

    __table_args__ = (Index("ix_outgoing_message_source", "source_type", "source_id"),)


class OutboxItem(db.Model):
    """One recipient of one message, and where its delivery stands."""

    __tablename__ = "outbox_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outgoing_message.id", ondelete="CASCADE"), index=True)
    to_address: Mapped[str] = mapped_column(String(320))
    to_name: Mapped[str] = mapped_column(String(200), default="")
    # Delivery history outlives the contact: deleting a contact keeps the row.
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"), index=True)
    personalisation: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(String(500), default="")
    state: Mapped[DeliveryState] = mapped_column(_enum(DeliveryState), default=DeliveryState.queued)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # ``priority_of(message.kind)``, copied so the claim can walk one index in order.
    priority: Mapped[int] = mapped_column(SmallInteger, default=PRIORITY_NORMAL, server_default="1")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str] = mapped_column(String(200), default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")
    message_id_header: Mapped[str] = mapped_column(String(300), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    message: Mapped[OutgoingMessage] = relationship(back_populates="items")

    # The worker walks the unfinished rows in (priority, id) order. A partial index keeps
    # that walk proportional to the queue, not to every mail ever sent.
    __table_args__ = (
        # The start page's "failed addresses" reads the failed rows of the last 30 days.
        Index(
            "ix_outbox_item_failed_created_at",
            "created_at",
            sqlite_where=text(FAILED_PREDICATE),
            postgresql_where=text(FAILED_PREDICATE),
        ),
        Index(
            "ix_outbox_item_pending",
            "priority",
            "id",
            sqlite_where=text(PENDING_PREDICATE),
            postgresql_where=text(PENDING_PREDICATE),
        ),
    )


class OutboxItemGroup(db.Model):
    """A stakeholder group the recipient of one outbox row belonged to when the mail was
    queued: coverage counts whom a mail reached as what, not what they are today."""

    __tablename__ = "outbox_item_group"

    outbox_item_id: Mapped[int] = mapped_column(
        ForeignKey("outbox_item.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[int] = mapped_column(
        ForeignKey("stakeholder_group.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class AddressBounce(db.Model):
    """A permanent refusal (5xx) of one address, written by the worker in the same commit
    that marks the outbox item failed. Keyed by the address, not the contact: once a
    coordinator corrects the contact's address, the old rows no longer match anyone.
    """

    __tablename__ = "address_bounce"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)  # lower case
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"))
    outbox_item_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_item.id", ondelete="SET NULL"))
    answer: Mapped[str] = mapped_column(Text, default="")
    bounced_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DeliveryDay(db.Model):
    """Mails claimed for sending on one UTC day, by all workers together.

    Enforces ``DELIVERY_MAX_PER_DAY`` across processes: a claim locks the day's row,
    takes at most what is left and adds what it took; rows handed back unsent give
    theirs back. Retries and crash repeats count again, so the relay's daily limit is
    never exceeded.
    """

    __tablename__ = "delivery_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    claimed: Mapped[int] = mapped_column(Integer, default=0)
