"""When a job is due: every N seconds (slots aligned to the epoch, so every worker
computes the same slot) or at local times of day (the latest one that has passed)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


class Schedule(Protocol):
    def slot(self, now: datetime, config: Mapping[str, Any]) -> datetime:
        """The latest due time at or before ``now`` (UTC)."""
        ...

    def next_after(self, slot: datetime, config: Mapping[str, Any]) -> datetime:
        """The first due time after ``slot``."""
        ...

    def describe(self, config: Mapping[str, Any]) -> str: ...


@dataclass(frozen=True)
class Every:
    seconds: int

    def slot(self, now: datetime, config: Mapping[str, Any]) -> datetime:
        elapsed = int((now - EPOCH).total_seconds())
        return EPOCH + timedelta(seconds=elapsed - elapsed % self.seconds)

    def next_after(self, slot: datetime, config: Mapping[str, Any]) -> datetime:
        return self.slot(slot, config) + timedelta(seconds=self.seconds)

    def describe(self, config: Mapping[str, Any]) -> str:
        if self.seconds % 3600 == 0:
            return f"var {self.seconds // 3600}:e timme"
        if self.seconds % 60 == 0:
            return f"var {self.seconds // 60}:e minut"
        return f"var {self.seconds}:e sekund"


def parse_time(value: str) -> time:
    hours, minutes = str(value).split(":")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class Daily:
    """Local times of day (``BABEL_DEFAULT_TIMEZONE``), given literally or read from the
    config at each check so a changed ``DIGEST_DAILY_TIME`` applies at once."""

    times: Callable[[Mapping[str, Any]], list[str]]

    @classmethod
    def at(cls, *times: str) -> Daily:
        return cls(lambda config: list(times))

    @classmethod
    def from_config(cls, *keys: str) -> Daily:
        return cls(lambda config: [str(config[key]) for key in keys])

    def _zone(self, config: Mapping[str, Any]) -> ZoneInfo:
        return ZoneInfo(config.get("BABEL_DEFAULT_TIMEZONE", "Europe/Stockholm"))

    def _due_times(self, day: date, config: Mapping[str, Any]) -> list[datetime]:
        zone = self._zone(config)
        local_times = {parse_time(value) for value in self.times(config)}
        return sorted(datetime.combine(day, at, zone).astimezone(UTC) for at in local_times)

    def slot(self, now: datetime, config: Mapping[str, Any]) -> datetime:
        today = now.astimezone(self._zone(config)).date()
        for day in (today, today - timedelta(days=1)):
            passed = [due for due in self._due_times(day, config) if due <= now]
            if passed:
                return passed[-1]
        return self._due_times(today - timedelta(days=2), config)[-1]

    def next_after(self, slot: datetime, config: Mapping[str, Any]) -> datetime:
        today = slot.astimezone(self._zone(config)).date()
        for day in (today, today + timedelta(days=1), today + timedelta(days=2)):
            later = [due for due in self._due_times(day, config) if due > slot]
            if later:
                return later[0]
        raise ValueError("no due time after slot")

    def describe(self, config: Mapping[str, Any]) -> str:
        return "dagligen " + ", ".join(sorted(set(self.times(config))))


def from_setting(value: int | str) -> Schedule:
    """A schedule from ``JOB_SCHEDULES``: seconds (int) or "HH:MM[,HH:MM]"."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return Every(value)
    text = str(value).strip()
    if text.isdigit() and int(text) > 0:
        return Every(int(text))
    times = [part.strip() for part in text.split(",")]
    for part in times:
        parse_time(part)
    return Daily.at(*times)
