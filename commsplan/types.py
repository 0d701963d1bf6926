"""Column types shared by all features."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, ForeignKey, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from commsplan.extensions import db


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored as UTC on every backend.

    SQLite has no time zones and returns naive values; this type makes both backends
    hand back aware UTC datetimes so comparisons never mix naive and aware values.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def link_table(name: str, left: tuple[str, str], right: tuple[str, str]) -> Table:
    """A many-to-many table of two cascading foreign keys, e.g.
    ``link_table("notice_service", ("notice_id", "notice.id"), ("service_id", "service.id"))``."""
    return Table(
        name,
        db.metadata,
        *(
            Column(column, ForeignKey(target, ondelete="CASCADE"), primary_key=True)
            for column, target in (left, right)
        ),
    )
