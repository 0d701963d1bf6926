"""Explicit subscriptions to notices, and the addresses that asked for no more mail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from commsplan.extensions import db
from commsplan.kinds import NoticeKind
from commsplan.plan.models import Contact, Service
from commsplan.timeutil import utcnow
from commsplan.types import UTCDateTime


class Subscription(db.Model):
    """A contact wants notices about one service, or every notice of one kind."""

    __table_args__ = (UniqueConstraint("contact_id", "service_id", "notice_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    notice_kind: Mapped[NoticeKind | None] = mapped_column(
        Enum(NoticeKind, native_enum=False, length=30, validate_strings=True)
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    contact: Mapped[Contact] = relationship()
    service: Mapped[Service | None] = relationship()


class Unsubscribe(db.Model):
    """An address that used an unsubscribe link: it gets no more notices until re-added."""

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # lower case
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
