"""Time helpers: we store UTC-aware datetimes and show Europe/Stockholm."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def utcnow() -> datetime:
    return datetime.now(UTC)


def local(value: datetime) -> datetime:
    return value.astimezone(STOCKHOLM)
