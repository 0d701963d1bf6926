"""Time helpers: we store UTC-aware datetimes and show Europe/Stockholm; Swedish working
days, the one definition meetings, reminders, digests and activity deadlines share."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def utcnow() -> datetime:
    return datetime.now(UTC)


def local(value: datetime) -> datetime:
    return value.astimezone(STOCKHOLM)


@lru_cache(maxsize=64)
def _holidays_for(year: int) -> holidays.HolidayBase:
    # Public holidays plus the de-facto ones (Midsummer, Christmas and New Year's Eve)
    # on which nobody in a Swedish region works.
    return holidays.Sweden(
        years=year, include_sundays=False, categories=("public", "de_facto"), language="sv"
    )


def holiday_name(day: date) -> str:
    """The Swedish name of the public or de-facto holiday on ``day``, or "" if it is none."""
    return _holidays_for(day.year).get(day) or ""


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and not holiday_name(day)


def next_working_day(day: date) -> date:
    """The first working day after ``day``."""
    day += timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def working_days_before(day: date, count: int) -> date:
    """The day ``count`` working days before ``day`` (``day`` itself for 0)."""
    while count > 0:
        day -= timedelta(days=1)
        if is_working_day(day):
            count -= 1
    return day
