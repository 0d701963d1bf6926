"""Shared set-up for feed tests: a series meeting around next year's DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import vobject
from sqlalchemy.orm import Session

from commsplan.feeds import services
from commsplan.feeds.models import FeedKind
from commsplan.meetings import services as meetings
from commsplan.meetings.models import MeetingSeries


def last_sunday(year: int, month: int) -> date:
    day = date(year, month + 1, 1) - timedelta(days=1)
    return day - timedelta(days=(day.weekday() - 6) % 7)


def dst_dates(year: int | None = None) -> dict[str, date]:
    """Tuesdays just before and after the spring and autumn changes (never holidays)."""
    year = year or date.today().year + 1
    spring, autumn = last_sunday(year, 3), last_sunday(year, 10)
    return {
        "before_spring": spring - timedelta(days=5),
        "after_spring": spring + timedelta(days=2),
        "before_autumn": autumn - timedelta(days=5),
        "after_autumn": autumn + timedelta(days=2),
    }


def make_series(session: Session, **overrides: Any) -> MeetingSeries:
    days = sorted(dst_dates().values())
    values: dict[str, Any] = {
        "title": "Nätverket Invånartjänster",
        "start_time": time(10, 0),
        "starts_on": days[0],
        "duration_minutes": 120,
        "explicit_dates": [d.isoformat() for d in days],
        "location": "Akademiska sjukhuset, ingång 70",
        "online_url": "https://meet.example.org/natverket",
        "organiser_name": "Invånartjänster e-hälsa",
        "organiser_email": "invanartjanster@example.org",
        "description": "Nätverksmöte för e-tjänstesamordnare.",
    }
    values.update(overrides)
    return meetings.create_series(session, meetings.SeriesData(**values))


def token_for(session: Session, kind: FeedKind, target_id: int = 0) -> str:
    token = services.ensure_token(session, kind, target_id)
    assert token is not None
    session.commit()
    return token.token


def parse(body: bytes) -> Any:
    """Parse with vobject, which shares no code with the icalendar package we write with."""
    return vobject.readOne(body.decode("utf-8"))


def events_by_uid(calendar: Any) -> dict[str, Any]:
    return {event.uid.value: event for event in getattr(calendar, "vevent_list", [])}


def utc(value: datetime) -> datetime:
    return value.astimezone(UTC)
