"""One record per person and digest period: the key that makes a digest go out once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from commsplan.extensions import db
from commsplan.timeutil import utcnow
from commsplan.types import UTCDateTime


class DigestRun(db.Model):
    """The digest of one person for one period (``daily``/``weekly`` + the local date it
    belongs to). Inserted under its unique key in the same transaction as the digest's
    outbox row and items: a re-run, a second worker or a crash cannot send it twice.
    ``message_id`` is empty when there was nothing new (no mail)."""

    __tablename__ = "digest_run"
    __table_args__ = (UniqueConstraint("contact_id", "period", "period_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), index=True)
    period: Mapped[str] = mapped_column(String(10))
    period_key: Mapped[str] = mapped_column(String(10))
    covered_from: Mapped[datetime] = mapped_column(UTCDateTime())
    covered_until: Mapped[datetime] = mapped_column(UTCDateTime())
    message_id: Mapped[int | None] = mapped_column(ForeignKey("outgoing_message.id", ondelete="SET NULL"))
    # [[notice_id, notice_update_id], …]: what this digest told the person.
    items: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DigestRound(db.Model):
    """A finished round (every person done) so the worker's check stays one query."""

    __tablename__ = "digest_round"
    __table_args__ = (UniqueConstraint("period", "period_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(10))
    period_key: Mapped[str] = mapped_column(String(10))
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
