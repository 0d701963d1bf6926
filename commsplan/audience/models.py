"""Audience rules: which notices each row of *Mottagare av information* receives."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from commsplan.extensions import db
from commsplan.kinds import NoticeKind, Severity
from commsplan.plan.models import Recipient, Service
from commsplan.timeutil import utcnow
from commsplan.types import UTCDateTime


def _enum(cls: type[enum.Enum]) -> Enum:
    # VARCHAR + CHECK rather than a native type: adding a member needs no ALTER TYPE.
    return Enum(cls, native_enum=False, length=30, validate_strings=True)


class AudienceRule(db.Model):
    """One cell entry of the matrix "Mottagare × e-tjänst": a recipient row follows one
    kind of notice, for one e-service, for all of them, or when its own system is touched.

    ``service_id`` None and ``own_systems`` False: every e-service. ``own_systems``: only
    notices that touch a system whose object is the row's unit (system objects).
    ``min_severity`` is the row's threshold for outages; the matrix writes the same value on
    every outage rule of the row and it means nothing on other kinds.
    """

    __tablename__ = "audience_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipient.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    own_systems: Mapped[bool] = mapped_column(default=False)
    kind: Mapped[NoticeKind] = mapped_column(_enum(NoticeKind))
    min_severity: Mapped[Severity | None] = mapped_column(_enum(Severity))

    recipient: Mapped[Recipient] = relationship()
    service: Mapped[Service | None] = relationship()


class ContactImport(db.Model):
    """An uploaded contacts CSV waiting for the coordinator's go-ahead after the preview.

    Kept in the database, not in the session or process memory, so the preview and the
    import can be served by different workers; removed once imported.
    """

    __tablename__ = "contact_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(64), unique=True, default=lambda: uuid.uuid4().hex)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255), default="")
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
