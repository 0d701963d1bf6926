"""Typed iCalendar builders on top of ``icalendar``: occurrences and notices to VEVENTs.

Every meeting occurrence is its own VEVENT with the occurrence's stable UID (no RRULE
with RECURRENCE-ID overrides): a moved occurrence keeps its UID and gets a raised
SEQUENCE, a cancelled one stays with STATUS:CANCELLED. Thunderbird, Outlook and Google
Calendar all show expanded events the same way, which is not true of overrides.

Times are written with TZID=Europe/Stockholm and the calendar carries the matching
VTIMEZONE, so a meeting at 10:00 stays at 10:00 local on both sides of a DST change.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.utils import parseaddr
from functools import cache
from typing import TYPE_CHECKING, Protocol

from flask_babel import gettext as _
from icalendar import Alarm, Calendar, Event, Timezone, vCalAddress, vText
from icalendar.enums import STATUS, TRANSP

from commsplan.notices.markup import markdown_to_text
from commsplan.timeutil import STOCKHOLM

if TYPE_CHECKING:
    from commsplan.meetings.models import Occurrence

PRODID = "-//commsplan//Kommunikationsplan 1177 e-tjänster//SV"
TZID = "Europe/Stockholm"

# Written by hand rather than ``Timezone.from_tzinfo``: icalendar 7 puts the spring
# onset at 03:00 local (RFC 5545 §3.6.5 wants the wall time *before* the change, 02:00)
# and lists every transition as RDATEs. The RRULE form below is the one Outlook and
# Thunderbird write themselves; tests compare it with zoneinfo for every year we serve.
_STOCKHOLM_VTIMEZONE = """BEGIN:VTIMEZONE
TZID:Europe/Stockholm
X-LIC-LOCATION:Europe/Stockholm
BEGIN:DAYLIGHT
TZNAME:CEST
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZNAME:CET
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
"""


# Control characters no calendar text may hold (NUL …); tab and line breaks are kept.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean(value: object) -> str:
    """A text value as a calendar holds it: control characters dropped, every kind of line
    break (CRLF, CR, vertical tab …) written as one LF, which icalendar escapes as ``\\n``."""
    return _CONTROL.sub("", "\n".join(str(value).splitlines()))


def text(value: object) -> vText:
    """The one way a text value enters a calendar, escaped as RFC 5545 §3.3.11 asks
    (backslash, comma, semicolon, new line). ``vText`` is what makes icalendar escape it:
    a plain ``str`` in a property it does not type itself (NAME, X-WR-CALDESC) is written
    raw, and a line break in it made the whole feed a 500."""
    return vText(clean(value))


def param(value: object) -> str:
    """A parameter value (CN=): one line, no double quote (RFC 5545 cannot escape it) and
    no caret (icalendar escapes it the RFC 6868 way, which not every client reads back)."""
    return " ".join(clean(value).replace('"', "'").replace("^", "").split())


class Method(enum.Enum):
    """iTIP methods we send (RFC 5546)."""

    publish = "PUBLISH"
    request = "REQUEST"
    cancel = "CANCEL"


@dataclass(frozen=True)
class Person:
    """A calendar user: organiser or attendee."""

    email: str
    name: str = ""


class NoticeLike(Protocol):
    """What a notice (service window, release) offers to a calendar."""

    id: int
    uid: str
    title: str
    body_markdown: str
    sequence: int
    starts_at: datetime | None
    ends_at: datetime | None
    release_date: date | None
    version: str
    updated_at: datetime


def add_reminder(event: Event, minutes: int, title: str) -> None:
    """A display alarm ``minutes`` before the start (RFC 5545 §3.6.6)."""
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", title)
    alarm.add("trigger", timedelta(minutes=-minutes))
    event.add_component(alarm)


def organiser_address(email: str, name: str, sender: Person | None) -> vCalAddress | None:
    """ORGANIZER: the series' functional mailbox, with SENT-BY naming the mail's From when
    the app sends in its name (RFC 5545 §3.2.18), or else the sender itself.

    Replies (iTIP REPLY) go to the ORGANIZER address, so the team's mailbox receives them;
    the app does not read them (docs/calendars.md).
    """
    if email:
        params: dict[str, str] = {}
        if sender is not None and sender.email and sender.email.lower() != email.lower():
            params["sent_by"] = f"mailto:{sender.email}"
        return address(Person(email, name), **params)
    if sender is not None and sender.email:
        return address(sender)
    return None


def sender_person(sender: str) -> Person:
    """The mail's From (``"Name <address>"``) as a calendar user."""
    name, email = parseaddr(sender)
    return Person(email, name)


@cache
def _stockholm_vtimezone_text() -> str:
    return _STOCKHOLM_VTIMEZONE.replace("\n", "\r\n")


def stockholm_timezone() -> Timezone:
    """A fresh VTIMEZONE component for Europe/Stockholm."""
    return Timezone.from_ical(_stockholm_vtimezone_text())


def new_calendar(name: str, method: Method = Method.publish, description: str = "") -> Calendar:
    """An empty VCALENDAR with PRODID, VERSION, CALSCALE, METHOD and the Stockholm VTIMEZONE.

    Feeds (PUBLISH) also get the calendar name and a refresh interval; iMIP messages
    (REQUEST, CANCEL) carry only what RFC 6047 asks for.
    """
    calendar = Calendar.new(prodid=PRODID, method=method.value, calscale="GREGORIAN")
    # Calendar.new adds a random UID; a feed must render the same bytes for the same data.
    calendar.pop("UID", None)
    if method is Method.publish:
        calendar.add("NAME", text(name))
        calendar.add("X-WR-CALNAME", text(name))  # the name Apple, Google and Outlook read
        calendar.add("X-WR-TIMEZONE", TZID)
        if description:
            calendar.add("X-WR-CALDESC", text(markdown_to_text(description)))
        # Polite poll interval for subscribers (RFC 7986 and the Microsoft extension).
        calendar.add("REFRESH-INTERVAL", timedelta(hours=1), parameters={"VALUE": "DURATION"})
        calendar.add("X-PUBLISHED-TTL", "PT1H")
    calendar.add_component(stockholm_timezone())
    return calendar


def calendar_of(
    name: str, events: Iterable[Event], method: Method = Method.publish, description: str = ""
) -> Calendar:
    calendar = new_calendar(name, method, description)
    for event in events:
        calendar.add_component(event)
    return calendar


def _local(value: datetime) -> datetime:
    return value.astimezone(STOCKHOLM)


def address(person: Person, **params: str | bool) -> vCalAddress:
    return vCalAddress.new(person.email, cn=param(person.name) or None, **params)  # type: ignore[arg-type]


def _hhmm(value: datetime) -> str:
    return f"{value:%H.%M}"


def agenda_summary(occurrence: Occurrence) -> list[str]:
    """Numbered agenda lines with local start times, for the event description."""
    from commsplan.meetings.services import agenda_with_times

    lines: list[str] = []
    number = 0
    for item, start in agenda_with_times(occurrence):
        if item.is_break:
            lines.append(f"{_hhmm(start)} {item.title or _('Paus')}")
            continue
        number += 1
        line = f"{number}. {_hhmm(start)} {item.title}"
        if item.presenter:
            line += f" ({item.presenter})"
        lines.append(line)
    return lines


def occurrence_description(occurrence: Occurrence, url: str | None = None) -> str:
    """Plain-text description: cancellation, series text, note, links and agenda."""
    occ = occurrence
    parts: list[str] = []
    if occ.is_cancelled:
        parts.append(_("Mötet är inställt."))
    if occ.note:
        parts.append(occ.note)
    if occ.series.description:
        parts.append(markdown_to_text(occ.series.description))
    online = occ.effective_online_url
    if online:
        parts.append(_("Anslut digitalt: %(url)s", url=online))
    agenda = agenda_summary(occ)
    if agenda:
        parts.append(_("Dagordning:") + "\n" + "\n".join(agenda))
    if occ.practical_notes:
        parts.append(_("Praktiskt:") + "\n" + markdown_to_text(occ.practical_notes))
    if occ.material_url:
        parts.append(_("Material: %(url)s", url=occ.material_url))
    if occ.minutes_url:
        parts.append(_("Minnesanteckningar: %(url)s", url=occ.minutes_url))
    if url:
        parts.append(_("Mer information: %(url)s", url=url))
    return "\n\n".join(parts)


def occurrence_to_event(
    occurrence: Occurrence,
    *,
    stamp: datetime | None = None,
    url: str | None = None,
    attendees: Sequence[Person] = (),
    fallback_organiser: Person | None = None,
    rsvp: bool = False,
) -> Event:
    """One meeting occurrence as a VEVENT.

    ``stamp`` is DTSTAMP: for a published feed the occurrence's last change (so an
    unchanged feed renders byte-identical), for iMIP the time the message is made.
    ``attendees`` are only given for invitations.
    """
    occ = occurrence
    series = occ.series
    cancelled = occ.is_cancelled
    title = series.title
    event = Event.new(
        uid=occ.uid,
        stamp=stamp or occ.updated_at,
        start=_local(occ.start),
        end=_local(occ.end),
        summary=text(_("Inställt: %(title)s", title=title) if cancelled else title),
        description=text(occurrence_description(occ, url)) or None,
        location=text(occ.effective_location or occ.effective_online_url) or None,
        sequence=occ.sequence,
        status=STATUS.CANCELLED if cancelled else STATUS.CONFIRMED,
        last_modified=occ.updated_at,
        created=occ.created_at,
        url=url or None,
        transparency=TRANSP.TRANSPARENT if cancelled else TRANSP.OPAQUE,
    )
    if series.reminder_minutes and not cancelled:
        add_reminder(event, series.reminder_minutes, title)
    organiser = organiser_address(series.organiser_email, series.organiser_name, fallback_organiser)
    if organiser is not None:
        event.add("organizer", organiser)
    for person in attendees:
        event.add(
            "attendee",
            address(person, role="REQ-PARTICIPANT", partstat="NEEDS-ACTION", rsvp=rsvp, cutype="INDIVIDUAL"),
        )
    return event


class NoticeCalendarKind(enum.Enum):
    service_window = "service_window"
    release = "release"


def notice_to_event(
    notice: NoticeLike,
    *,
    cancelled: bool,
    kind: str,
    url: str | None = None,
    title: str | None = None,
    description: str | None = None,
) -> Event | None:
    """A service window (timed) or a release (all-day) as a VEVENT; None if it has no date.

    Notices never block time in the subscriber's calendar (TRANSP:TRANSPARENT).
    ``title`` and ``description`` replace the notice's own (e.g. its English wording in
    mail to English readers).
    """
    own_title = notice.title if title is None else title
    if kind == NoticeCalendarKind.release.value:
        label = _("Release")
        title = f"{label}: {own_title}"
        if notice.version:
            title += f" ({notice.version})"
    else:
        title = f"{_('Servicefönster')}: {own_title}"
    if cancelled:
        title = _("Inställt: %(title)s", title=title)
    start: date | datetime
    end: date | datetime | None
    if kind == NoticeCalendarKind.release.value and notice.release_date is not None:
        start = notice.release_date
        end = notice.release_date + timedelta(days=1)
    elif notice.starts_at is not None:
        start = _local(notice.starts_at)
        end = _local(notice.ends_at) if notice.ends_at and notice.ends_at > notice.starts_at else None
    elif notice.release_date is not None:
        start = notice.release_date
        end = notice.release_date + timedelta(days=1)
    else:
        return None
    description = markdown_to_text(notice.body_markdown if description is None else description)
    if url:
        description = (description + "\n\n" if description else "") + _("Mer information: %(url)s", url=url)
    return Event.new(
        uid=notice.uid,
        stamp=notice.updated_at,
        start=start,
        end=end,
        summary=text(title),
        description=text(description) or None,
        sequence=notice.sequence,
        status=STATUS.CANCELLED if cancelled else STATUS.CONFIRMED,
        last_modified=notice.updated_at,
        url=url or None,
        transparency=TRANSP.TRANSPARENT,
        categories=[_("Release") if kind == NoticeCalendarKind.release.value else _("Servicefönster")],
    )


def to_bytes(calendar: Calendar) -> bytes:
    return calendar.to_ical()


def mail_attachment(calendar: Calendar, filename: str) -> dict[str, str]:
    """A VCALENDAR as an outbox attachment, the one way every mail carries a calendar.

    The METHOD is repeated in the content type as RFC 6047 asks; an iMIP REQUEST or
    CANCEL is then also put inline by the sender so Outlook offers to accept it.
    """
    method = str(calendar.get("METHOD", Method.publish.value))
    return {
        "filename": filename,
        "content_type": f"text/calendar; method={method}; charset=utf-8",
        "content": to_bytes(calendar).decode("utf-8"),
    }


def assemble(calendar: Calendar, event_texts: Iterable[str]) -> bytes:
    """``calendar`` (header and VTIMEZONE) with already serialised VEVENTs appended.

    Lets a feed reuse event texts rendered earlier instead of serialising every event
    again; each text is a complete ``BEGIN:VEVENT … END:VEVENT`` block with CRLF endings.
    """
    head = calendar.to_ical().decode()
    closing = "END:VCALENDAR\r\n"
    if not head.endswith(closing):
        raise ValueError("calendar text does not end with END:VCALENDAR")
    return (head[: -len(closing)] + "".join(event_texts) + closing).encode()
