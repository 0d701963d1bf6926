"""Relay: where national information comes from (``RelaySource``) and each thing read
from it (``RelayItem``), which becomes a draft regional notice a coordinator reviews.

A source remembers how far it has read (feed validators, IMAP UIDVALIDITY and last UID)
and how healthy it is; an item remembers what it was (external id, content hash) so
reading the same thing twice never makes a second draft.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from commsplan.extensions import db
from commsplan.notices.models import Notice
from commsplan.timeutil import utcnow
from commsplan.types import UTCDateTime


def _enum(cls: type[enum.Enum]) -> Enum:
    # VARCHAR + CHECK rather than a native type: adding a member needs no ALTER TYPE.
    return Enum(cls, native_enum=False, length=30, validate_strings=True)


class SourceKind(enum.Enum):
    imap = "imap"
    feed = "feed"
    paste = "paste"


class ItemState(enum.Enum):
    new = "new"
    drafted = "drafted"
    merged = "merged"
    dismissed = "dismissed"
    published = "published"


class RelaySource(db.Model):
    """A mailbox, a feed or the paste form. ``settings`` holds what the kind needs:
    feed ``url`` and ``interval_minutes``; IMAP ``host``, ``port``, ``tls``, ``user``,
    ``password_env`` (the name of an environment variable, never the password),
    ``folder`` and optionally ``move_to``; and ``auto_publish`` (notice kinds)."""

    __tablename__ = "relay_source"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[SourceKind] = mapped_column(_enum(SourceKind))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Conditional GET validators of the last successful feed response.
    etag: Mapped[str] = mapped_column(String(500), default="")
    last_modified: Mapped[str] = mapped_column(String(100), default="")
    # IMAP: the mailbox's UIDVALIDITY and the highest UID processed under it.
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Errors in a row: the back-off doubles the wait with each.
    failures: Mapped[int] = mapped_column(Integer, default=0)
    items_seen: Mapped[int] = mapped_column(Integer, default=0)
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def auto_publish(self) -> list[str]:
        return list((self.settings or {}).get("auto_publish", []))

    def __repr__(self) -> str:
        return f"<RelaySource {self.id} {self.kind.value} {self.name!r}>"


class RelayItem(db.Model):
    """One message or feed entry. ``notice`` is the draft made from it (kept when the
    coordinator publishes it); ``merged_into`` the notice it became an update of."""

    __tablename__ = "relay_item"
    __table_args__ = (
        UniqueConstraint("source_id", "external_id"),
        Index("ix_relay_item_state", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("relay_source.id", ondelete="CASCADE"), index=True)
    # guid / Message-ID / UID: what the source calls it.
    external_id: Mapped[str] = mapped_column(String(500))
    # sha256 of the normalised subject and text: the same content from two places.
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(998), default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(2000), default="")
    # Times the source gave as data (iCalendar DTSTART/DTEND), else None.
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    state: Mapped[ItemState] = mapped_column(_enum(ItemState), default=ItemState.new)
    dismiss_reason: Mapped[str] = mapped_column(Text, default="")
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notice.id", ondelete="SET NULL"))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("notice.id", ondelete="SET NULL"))
    # The source changed the item after its notice went out: offer it as an update.
    change_pending: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    source: Mapped[RelaySource] = relationship()
    notice: Mapped[Notice | None] = relationship(foreign_keys=[notice_id])
    merged_into: Mapped[Notice | None] = relationship(foreign_keys=[merged_into_id])

    @property
    def current_state(self) -> ItemState:
        """A drafted item whose notice went out (on the notice page) counts as published."""
        if self.state is ItemState.drafted and self.notice is not None and not self.notice.is_draft:
            return ItemState.published
        return self.state

    def __repr__(self) -> str:
        return f"<RelayItem {self.id} {self.state.value} {self.subject[:40]!r}>"
