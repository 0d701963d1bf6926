"""A rule-based meeting series as ONE recurring VEVENT: RRULE, EXDATE and RECURRENCE-ID.

Outlook, Google Calendar, Apple Calendar and Thunderbird show a series as a series only
when it is one event with one UID. A series whose cadence is an RRULE is therefore
written as

- a master VEVENT: UID of the series, DTSTART at the rule's first instance, the series'
  RRULE, and EXDATE for every instance that does not take place as the rule says
  (skipped for a holiday or the July break, cancelled, or never materialised);
- one override VEVENT per occurrence that differs from the master (moved, another place
  or link, a note, an agenda, practical notes, material or minutes), with the series'
  UID and RECURRENCE-ID set to the slot the rule produced.

Cancelled occurrences are EXDATEs in the master: every client hides them the same way,
whereas a cancelled override is shown crossed out by some and not at all by others.

A series of explicit dates, and a rule series whose history no longer fits its rule
(the rule was changed after meetings took place), is not expressed this way: see
``build`` and docs/calendars.md. All components of a series share one SEQUENCE, the sum
of the series' and its occurrences' sequences, which only ever grows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrulestr
from flask_babel import gettext as _
from icalendar import Event, vRecur
from icalendar.enums import STATUS, TRANSP

from commsplan.feeds import ical
from commsplan.meetings.models import MeetingSeries, Occurrence
from commsplan.meetings.services import holiday_name
from commsplan.notices.markup import markdown_to_text
from commsplan.timeutil import STOCKHOLM

# Skipped dates beyond the materialised horizon are written as EXDATEs this far ahead
# of the series' start, so clients do not show a meeting on a holiday in three years.
RULE_YEARS = 10

UrlOf = Callable[[Occurrence], str | None]


def rid(value: datetime) -> str:
    """The key of one instance: its RECURRENCE-ID in UTC."""
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


@dataclass(frozen=True)
class SeriesCalendar:
    """What the calendar of a rule series holds, computed from its occurrences."""

    series: MeetingSeries
    first: datetime  # UTC start of the rule's first instance (DTSTART)
    skipped: list[datetime]  # UTC starts of instances that do not take place, not cancelled
    cancelled: list[Occurrence]
    overrides: list[Occurrence]
    scheduled: list[Occurrence]

    @property
    def sequence(self) -> int:
        """Grows with every change of the series or any of its occurrences."""
        return self.series.sequence + sum(occ.sequence for occ in self.series.occurrences)

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.series.duration_minutes)


def _instances(series: MeetingSeries) -> list[datetime]:
    assert series.rrule
    zone = ZoneInfo(series.timezone)
    start = datetime.combine(series.starts_on, series.start_time)
    end = datetime.combine(series.starts_on + relativedelta(years=RULE_YEARS), time.max)
    rule = rrulestr("RRULE:" + series.rrule, dtstart=start)
    found = rule.between(start, end, inc=True)
    if not found:
        return []
    # Clients expand from DTSTART = the first instance; make sure that yields the same.
    again = rrulestr("RRULE:" + series.rrule, dtstart=found[0]).between(found[0], end, inc=True)
    if again != found:
        return []
    return [value.replace(tzinfo=zone).astimezone(UTC) for value in found]


def _differs(series: MeetingSeries, occ: Occurrence) -> bool:
    duration = timedelta(minutes=series.duration_minutes)
    return bool(
        occ.start != occ.original_start
        or occ.end != occ.original_start + duration
        or occ.effective_location != series.location
        or occ.effective_online_url != series.online_url
        or occ.note
        or occ.agenda_items
        or occ.practical_notes
        or occ.material_url
        or occ.minutes_url
    )


def build(series: MeetingSeries) -> SeriesCalendar | None:
    """The recurring form of ``series``, or None when a rule cannot express it.

    None for explicit dates, for a rule with no instance, and when an occurrence (a past
    one from before a rule change) is not an instance of the current rule.
    """
    if not series.rrule:
        return None
    instances = _instances(series)
    if not instances:
        return None
    known = set(instances)
    live = [occ for occ in series.occurrences if not occ.superseded]
    if any(occ.original_start not in known for occ in live):
        return None
    by_slot = {occ.original_start: occ for occ in live}
    materialised = series.materialised_until or series.starts_on
    zone = ZoneInfo(series.timezone)
    skipped: list[datetime] = []
    for instance in instances:
        occ = by_slot.get(instance)
        if occ is not None:
            continue
        day = instance.astimezone(zone).date()
        if day <= materialised or (series.july_break and day.month == 7) or holiday_name(day):
            skipped.append(instance)
    ordered = sorted(live, key=lambda occ: occ.original_start)
    cancelled = [occ for occ in ordered if occ.is_cancelled]
    scheduled = [occ for occ in ordered if not occ.is_cancelled]
    overrides = [occ for occ in scheduled if _differs(series, occ)]
    return SeriesCalendar(series, instances[0], skipped, cancelled, overrides, scheduled)


def _local(value: datetime) -> datetime:
    return value.astimezone(STOCKHOLM)


def _rrule_value(series: MeetingSeries) -> vRecur:
    """The series' RRULE for a DTSTART with TZID: UNTIL must then be a UTC date-time."""
    recur = vRecur.from_ical(series.rrule or "")
    until = recur.get("UNTIL")
    if until:
        value = until[0]
        if not isinstance(value, datetime):
            value = datetime.combine(value, time())
        if value.tzinfo is None:
            # dateutil reads a floating UNTIL in the series' wall time, as we expand it.
            value = value.replace(tzinfo=ZoneInfo(series.timezone))
        recur["UNTIL"] = [value.astimezone(UTC)]
    return recur


def _people(
    event: Event,
    series: MeetingSeries,
    organiser: ical.Person | None,
    attendees: Sequence[ical.Person],
    rsvp: bool,
) -> Event:
    found = ical.organiser_address(series.organiser_email, series.organiser_name, organiser)
    if found is not None:
        event.add("organizer", found)
    for person in attendees:
        event.add(
            "attendee",
            ical.address(
                person, role="REQ-PARTICIPANT", partstat="NEEDS-ACTION", rsvp=rsvp, cutype="INDIVIDUAL"
            ),
        )
    return event


def master_description(series: MeetingSeries) -> str:
    parts: list[str] = []
    if series.description:
        parts.append(markdown_to_text(series.description))
    if series.online_url:
        parts.append(_("Anslut digitalt: %(url)s", url=series.online_url))
    return "\n\n".join(parts)


def master_event(
    calendar: SeriesCalendar,
    *,
    stamp: datetime,
    sequence: int,
    organiser: ical.Person | None = None,
    attendees: Sequence[ical.Person] = (),
    with_cancelled: bool = True,
    cancelled: bool = False,
) -> Event:
    """The recurring event; ``with_cancelled`` False leaves cancelled dates out of EXDATE
    (for the digest that tells a change of the series from a cancelled date)."""
    series = calendar.series
    start = _local(calendar.first)
    event = Event.new(
        uid=series.uid,
        stamp=stamp,
        start=start,
        end=start + calendar.duration,
        summary=series.title,
        description=master_description(series) or None,
        location=series.location or series.online_url or None,
        sequence=sequence,
        status=STATUS.CANCELLED if cancelled else STATUS.CONFIRMED,
        last_modified=series.updated_at,
        created=series.created_at,
        transparency=TRANSP.OPAQUE,
    )
    event.add("rrule", _rrule_value(series))
    if series.reminder_minutes and not cancelled:
        ical.add_reminder(event, series.reminder_minutes, series.title)
    excluded = list(calendar.skipped)
    if with_cancelled:
        excluded += [occ.original_start for occ in calendar.cancelled]
    if excluded:
        event.add("exdate", [_local(value) for value in sorted(excluded)])
    return _people(event, series, organiser, attendees, rsvp=False)


def override_event(
    calendar: SeriesCalendar,
    occ: Occurrence,
    *,
    stamp: datetime,
    sequence: int,
    url: str | None,
    organiser: ical.Person | None = None,
    attendees: Sequence[ical.Person] = (),
) -> Event:
    """One moved or changed instance: the occurrence's event under the series' UID."""
    event = ical.occurrence_to_event(
        occ, stamp=stamp, url=url, attendees=attendees, fallback_organiser=organiser
    )
    event.pop("UID")
    event.add("uid", calendar.series.uid)
    event.pop("SEQUENCE")
    event.add("sequence", sequence)
    event.add("recurrence-id", _local(occ.original_start))
    return event


def cancelled_instance_event(
    calendar: SeriesCalendar,
    occ: Occurrence,
    *,
    stamp: datetime,
    sequence: int,
    organiser: ical.Person | None = None,
    attendees: Sequence[ical.Person] = (),
) -> Event:
    """One instance in an iTIP CANCEL: UID, RECURRENCE-ID and the slot it had."""
    start = _local(occ.original_start)
    event = Event.new(
        uid=calendar.series.uid,
        stamp=stamp,
        start=start,
        end=start + calendar.duration,
        summary=_("Inställt: %(title)s", title=calendar.series.title),
        sequence=sequence,
        status=STATUS.CANCELLED,
    )
    event.add("recurrence-id", start)
    return _people(event, calendar.series, organiser, attendees, rsvp=False)


def feed_events(calendar: SeriesCalendar, since: datetime, url_of: UrlOf) -> list[Event]:
    """Master and the overrides that end after ``since``, for a published feed."""
    series = calendar.series
    stamp = max([series.updated_at, *(occ.updated_at for occ in series.occurrences)])
    events = [master_event(calendar, stamp=stamp, sequence=calendar.sequence)]
    for occ in calendar.overrides:
        if occ.end >= since:
            events.append(
                override_event(calendar, occ, stamp=stamp, sequence=calendar.sequence, url=url_of(occ))
            )
    return events


def _digest(event: Event) -> str:
    """What the recipient sees of an event: its text without DTSTAMP and SEQUENCE."""
    lines = event.to_ical().decode().replace("\r\n ", "").split("\r\n")
    kept = [line for line in lines if not line.startswith(("DTSTAMP", "SEQUENCE"))]
    return hashlib.sha256("\n".join(kept).encode()).hexdigest()[:32]


def state(
    calendar: SeriesCalendar, now: datetime, url_of: UrlOf, organiser: ical.Person | None
) -> dict[str, Any]:
    """What a calendar that is up to date holds: compared with an invitee's last state."""
    stamp = datetime(2000, 1, 1, tzinfo=UTC)
    master = master_event(calendar, stamp=stamp, sequence=0, organiser=organiser, with_cancelled=False)
    return {
        "master": _digest(master),
        "cancelled": [rid(occ.original_start) for occ in calendar.cancelled],
        "overrides": {
            rid(occ.original_start): _digest(
                override_event(calendar, occ, stamp=stamp, sequence=0, url=url_of(occ), organiser=organiser)
            )
            for occ in calendar.overrides
            if occ.end >= now
        },
        # Where each moved instance starts, so the next mail can say where it moved from;
        # not compared by ``change_between`` (the digests above already hold the times).
        "starts": {
            rid(occ.original_start): occ.start.isoformat() for occ in calendar.overrides if occ.end >= now
        },
    }


@dataclass(frozen=True)
class Change:
    """What one invitee must be sent to bring their calendar up to ``state``."""

    full: bool = False
    cancelled: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.full or self.cancelled or self.changed)


def previous_start(old: dict[str, Any] | None, key: str, original_start: datetime) -> datetime:
    """Where the invitee's calendar has instance ``key`` start: its recorded override, or
    the rule's own time (the RECURRENCE-ID) if it was never moved for them."""
    recorded = (old or {}).get("starts", {}).get(key)
    return datetime.fromisoformat(recorded) if recorded else original_start


def change_between(old: dict[str, Any] | None, new: dict[str, Any], scheduled: Iterable[str]) -> Change:
    """The smallest message set from ``old`` to ``new``: everything when the recurring
    event itself changed or a cancelled date was reinstated, else the newly cancelled
    dates (one CANCEL) and the new or changed overrides (one REQUEST)."""
    if not old or not old.get("master"):
        return Change(full=True)
    reinstated = set(old.get("cancelled", [])) & set(scheduled)  # ``scheduled``: upcoming ones
    old_overrides: dict[str, str] = old.get("overrides", {})
    # An override that went back to the master's time and place: its RECURRENCE-ID event
    # in the client would stay as it was, so the whole series is sent again.
    upcoming = set(scheduled)
    reverted = [key for key in old_overrides if key not in new["overrides"] and key in upcoming]
    if old["master"] != new["master"] or reinstated or reverted:
        return Change(full=True)
    cancelled = tuple(key for key in new["cancelled"] if key not in set(old.get("cancelled", [])))
    changed = tuple(key for key, value in new["overrides"].items() if old_overrides.get(key) != value)
    return Change(cancelled=cancelled, changed=changed)
