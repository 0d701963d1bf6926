from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from commsplan.extensions import db
from commsplan.timeutil import utcnow
from commsplan.types import UTCDateTime


class AuditEntry(db.Model):
    """One change to one object. The label and actor name are copies: history outlives both."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    # created, changed, deleted, published, sent
    action: Mapped[str] = mapped_column(String(20))
    object_type: Mapped[str] = mapped_column(String(50))  # the table name
    object_id: Mapped[int | None] = mapped_column(Integer)
    object_label: Mapped[str] = mapped_column(String(300), default="")
    # {field: [old, new]} for changes; values as text.
    changes: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
