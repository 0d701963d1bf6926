"""Mapping rules: a word or identifier in national text means one of the region's own
e-services and/or systems ("Journalen", "1177 journal" → the plan's Journalen)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from commsplan.auth.models import User
from commsplan.extensions import db
from commsplan.plan.models import Service, System
from commsplan.timeutil import utcnow
from commsplan.types import UTCDateTime

PATTERN_LENGTH = 200


class MappingRule(db.Model):
    """``pattern`` matches case-insensitively as whole words; it maps to ``service``,
    ``system`` or both (at least one)."""

    __tablename__ = "relay_mapping_rule"
    __table_args__ = (CheckConstraint("service_id IS NOT NULL OR system_id IS NOT NULL", name="has_target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pattern: Mapped[str] = mapped_column(String(PATTERN_LENGTH))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id"), index=True)
    system_id: Mapped[int | None] = mapped_column(ForeignKey("system.id"), index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    service: Mapped[Service | None] = relationship()
    system: Mapped[System | None] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def targets(self) -> list[str]:
        return [target.name for target in (self.service, self.system) if target is not None]
