"""Domain logic for meeting series: cadence, holidays, materialised occurrences, agendas
and registrations. Functions take an explicit session and never read the request."""

from __future__ import annotations

import enum
import hashlib
import logging
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrulestr
from flask_babel import gettext as _
from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from commsplan.delivery.models import MessageKind, OutboxItem, OutgoingMessage
from commsplan.languages import DEFAULT_LANGUAGE, mail_language
from commsplan.meetings.models import (
    AgendaItem,
    HolidayPolicy,
    MeetingSeries,
    Occurrence,
    OccurrenceStatus,
    Registration,
    meeting_series_contact,
    meeting_series_group,
    meeting_series_unit,
    new_uid,
)
from commsplan.plan.models import Contact, StakeholderGroup, Unit, contact_stakeholder_group
from commsplan.timeutil import holiday_name, next_working_day, utcnow

log = logging.getLogger(__name__)

HORIZON_MONTHS = 24
MAX_REMINDER_MINUTES = 7 * 24 * 60
# Slots that imply a time of day are ours to set (start_time), so the rule may not carry one.
_FORBIDDEN_RULE_PARTS = ("BYHOUR", "BYMINUTE", "BYSECOND", "DTSTART")
_ALLOWED_FREQS = {DAILY, WEEKLY, MONTHLY, YEARLY}
# Far-off years only come from typos, and year 1 does not survive a UTC conversion.
_EARLIEST, _LATEST = date(2000, 1, 1), date(2099, 12, 31)


class MeetingError(ValueError):
    """A request the meeting rules do not allow; the message is shown to the user.

    ``field`` names the form field the message belongs to, when there is one.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class RegistrationClosed(MeetingError):
    pass


# --- cadence -------------------------------------------------------------------------


_DATEUTIL_INVALID = re.compile(r"invalid '(?P<part>[A-Z]+)': (?P<value>.*)")
_DATEUTIL_UNKNOWN = re.compile(r"unknown parameter '(?P<part>[^']*)'")


def _rule_error_text(dateutil_message: str) -> str:
    """dateutil explains a bad rule in English ("invalid 'BYDAY': 9XX"): say it in the user's language."""
    invalid = _DATEUTIL_INVALID.match(dateutil_message)
    if invalid:
        return _(
            "Upprepningsregeln är ogiltig: %(value)s är inget giltigt värde för %(part)s.",
            value=invalid["value"],
            part=invalid["part"],
        )
    unknown = _DATEUTIL_UNKNOWN.match(dateutil_message)
    if unknown:
        return _("Upprepningsregeln är ogiltig: %(part)s är ingen del av en RRULE.", part=unknown["part"])
    return _("Upprepningsregeln kan inte tolkas. Skriv den som till exempel FREQ=MONTHLY;BYDAY=2TU.")


def normalise_rrule(text: str) -> str:
    """Validate an RRULE with dateutil and return it upper-cased without ``RRULE:``.

    Raises MeetingError with a Swedish message when the rule cannot be used.
    """
    rule = (text or "").strip().upper()
    if rule.startswith("RRULE:"):
        rule = rule[len("RRULE:") :]
    rule = re.sub(r"\s+", "", rule)
    if not rule:
        raise MeetingError(_("Ange en upprepningsregel."))
    if "\n" in rule or any(part in rule for part in _FORBIDDEN_RULE_PARTS):
        raise MeetingError(
            _("Regeln får inte ange klockslag eller DTSTART; ange starttiden i fältet för tid.")
        )
    if "COUNT=" in rule and "UNTIL=" in rule:
        raise MeetingError(_("Ange antingen COUNT eller UNTIL, inte båda (RFC 5545)."))
    try:
        parsed = rrulestr("RRULE:" + rule, dtstart=datetime(2024, 1, 1))
    except (ValueError, TypeError) as error:
        raise MeetingError(_rule_error_text(str(error))) from error
    # dateutil keeps these only as private attributes.
    if parsed._freq not in _ALLOWED_FREQS:
        raise MeetingError(_("Möten kan upprepas dagligen, veckovis, månadsvis eller årligen, inte oftare."))
    if parsed._interval < 1:  # INTERVAL=0 would make dateutil loop for ever
        raise MeetingError(_("INTERVAL måste vara minst 1."))
    # A rule that never matches (BYMONTHDAY=31 in February only …) would make dateutil scan
    # to year 9999 on every regeneration; check a bounded window instead.
    bounded = parsed.replace(count=None, until=datetime(2031, 12, 31)) if parsed._until is None else parsed
    if next(iter(bounded), None) is None:
        raise MeetingError(_("Regeln ger inga datum. Kontrollera till exempel BYMONTHDAY och BYDAY."))
    return rule


def parse_explicit_dates(text: str) -> list[str]:
    """Parse ISO dates separated by commas, spaces or new lines into a sorted unique list."""
    values: set[date] = set()
    for token in re.split(r"[\s,;]+", text or ""):
        if not token:
            continue
        try:
            day = date.fromisoformat(token)
        except ValueError as error:
            raise MeetingError(
                _("”%(token)s” är inget datum. Skriv datum som ÅÅÅÅ-MM-DD.", token=token)
            ) from error
        if not _EARLIEST <= day <= _LATEST:
            raise MeetingError(
                _(
                    "”%(token)s” ligger utanför åren %(first)d–%(last)d.",
                    token=token,
                    first=_EARLIEST.year,
                    last=_LATEST.year,
                )
            )
        values.add(day)
    if not values:
        raise MeetingError(_("Ange minst ett datum."))
    return [d.isoformat() for d in sorted(values)]


@dataclass(frozen=True)
class Slot:
    """One date the cadence yields: the rule's date and where the meeting actually is."""

    original_date: date
    date: date
    holiday_name: str = ""


def _rule_dates(series: MeetingSeries, start: date, end: date) -> list[date]:
    if series.rrule:
        rule = rrulestr("RRULE:" + series.rrule, dtstart=datetime.combine(series.starts_on, time()))
        found = rule.between(datetime.combine(start, time()), datetime.combine(end, time.max), inc=True)
        return [value.date() for value in found]
    return [d for d in (date.fromisoformat(v) for v in series.explicit_dates or []) if start <= d <= end]


def compute_slots(series: MeetingSeries, start: date, end: date) -> list[Slot]:
    """Dates the series meets in [start, end] after holiday policy and July break."""
    slots: list[Slot] = []
    for day in _rule_dates(series, start, end):
        if series.july_break and day.month == 7:
            continue
        name = holiday_name(day)
        actual = day
        if name:
            if series.holiday_policy is HolidayPolicy.skip:
                continue
            actual = next_working_day(day)
            if series.july_break and actual.month == 7:
                continue
        slots.append(Slot(original_date=day, date=actual, holiday_name=name))
    return slots


def skipped_dates(series: MeetingSeries, start: date, end: date) -> list[tuple[date, str]]:
    """Dates the cadence yields in [start, end] that the series leaves out, with why."""
    skipped: list[tuple[date, str]] = []
    for day in _rule_dates(series, start, end):
        if series.july_break and day.month == 7:
            skipped.append((day, "sommaruppehåll"))
        elif holiday_name(day) and series.holiday_policy is HolidayPolicy.skip:
            skipped.append((day, holiday_name(day)))
    return skipped


def local_to_utc(day: date, at: time, zone: str) -> datetime:
    """Local wall time to UTC; the zone database handles summer and winter time."""
    return datetime.combine(day, at, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _local_date(series: MeetingSeries, value: datetime) -> date:
    return value.astimezone(ZoneInfo(series.timezone)).date()


def _occurrence_uid(series: MeetingSeries, original_date: date) -> str:
    return f"{original_date:%Y%m%d}-{series.uid}"


@dataclass
class RegenerationResult:
    created: list[Occurrence] = field(default_factory=list)
    changed: list[Occurrence] = field(default_factory=list)
    superseded: list[Occurrence] = field(default_factory=list)
    # Future occurrences whose time, place, link or status a participant would notice changed.
    affected: list[Occurrence] = field(default_factory=list)
    # Start and end of each affected occurrence before the change (for "moved from … to …").
    previous: dict[int, tuple[datetime, datetime]] = field(default_factory=dict)


def _visible(occ: Occurrence) -> tuple[object, ...]:
    return (occ.start, occ.end, occ.status, occ.effective_location, occ.effective_online_url)


def regenerate(
    session: Session,
    series: MeetingSeries,
    now: datetime | None = None,
    *,
    include_past: bool = False,
    horizon_months: int = HORIZON_MONTHS,
    already_bumped: set[int] | None = None,
) -> RegenerationResult:
    """Materialise the series' occurrences up to the horizon.

    Occurrences are matched to slots by the local date of the rule slot, so a new time or
    place updates the same rows (same UID, registrations and agenda kept). Coordinator
    overrides (moved or cancelled) are left as they are. Future slots the rule no longer
    yields become cancelled and ``superseded`` so calendars learn they are gone. Past
    occurrences are history and only created, never changed, and only with
    ``include_past`` (when a series is first made).
    """
    now = now or utcnow()
    already_bumped = already_bumped or set()
    today = _local_date(series, now)
    start = series.starts_on if include_past else max(series.starts_on, today)
    end = today + relativedelta(months=horizon_months)
    duration = timedelta(minutes=series.duration_minutes)
    existing = {_local_date(series, occ.original_start): occ for occ in series.occurrences}
    result = RegenerationResult()

    def bump(occ: Occurrence) -> None:
        if occ.id not in already_bumped:
            occ.sequence += 1
            if occ.id is not None:
                already_bumped.add(occ.id)

    seen: set[date] = set()
    for slot in compute_slots(series, start, end):
        seen.add(slot.original_date)
        original_start = local_to_utc(slot.original_date, series.start_time, series.timezone)
        begins = local_to_utc(slot.date, series.start_time, series.timezone)
        occ = existing.get(slot.original_date)
        if occ is None:
            occ = Occurrence(
                series=series,
                uid=_occurrence_uid(series, slot.original_date),
                original_start=original_start,
                start=begins,
                end=begins + duration,
                holiday_name=slot.holiday_name,
                status=OccurrenceStatus.scheduled,
                sequence=0,
            )
            session.add(occ)
            result.created.append(occ)
            continue
        if occ.start < now and not include_past:
            continue
        changed = False
        if occ.original_start != original_start:
            occ.original_start = original_start
            changed = True
        if occ.superseded:
            occ.superseded = False
            if not occ.overridden:
                occ.status = OccurrenceStatus.scheduled
            changed = True
        if not occ.overridden and (
            occ.start != begins or occ.end != begins + duration or occ.holiday_name != slot.holiday_name
        ):
            occ.start, occ.end, occ.holiday_name = begins, begins + duration, slot.holiday_name
            changed = True
        if changed:
            bump(occ)
            result.changed.append(occ)

    for day, occ in existing.items():
        if day in seen or day < start or occ.start < now or occ.superseded or occ.overridden:
            continue
        occ.superseded = True
        occ.status = OccurrenceStatus.cancelled
        bump(occ)
        result.superseded.append(occ)
    if series.materialised_until != end:
        series.materialised_until = end
    session.flush()
    return result


# Fields an occurrence shows in calendars and invitations: changing one is a change of
# every future occurrence, which calendar programs only accept with a higher SEQUENCE.
SHOWN_FIELDS = (
    "title",
    "description",
    "location",
    "online_url",
    "organiser_name",
    "organiser_email",
    "start_time",
    "duration_minutes",
    "reminder_minutes",
)
CADENCE_FIELDS = ("rrule", "explicit_dates", "starts_on", "holiday_policy", "july_break")
OTHER_FIELDS = ("kind", "registration_open")


@dataclass
class SeriesData:
    title: str
    start_time: time
    starts_on: date
    duration_minutes: int = 60
    rrule: str | None = None
    explicit_dates: list[str] | None = None
    description: str = ""
    kind: object = None
    location: str = ""
    online_url: str = ""
    organiser_name: str = ""
    organiser_email: str = ""
    holiday_policy: HolidayPolicy = HolidayPolicy.skip
    july_break: bool = False
    registration_open: bool = False
    reminder_minutes: int | None = None
    contacts: Sequence[Contact] = ()
    units: Sequence[Unit] = ()
    groups: Sequence[StakeholderGroup] = ()
    uid: str | None = None  # a fixed UID (demo data, imports); otherwise a new random one


def _validate(data: SeriesData) -> None:
    if not data.title.strip():
        raise MeetingError(_("Ange en rubrik."), "title")
    if bool(data.rrule) == bool(data.explicit_dates):
        raise MeetingError(_("Ange antingen en upprepningsregel eller en lista med datum."), "cadence")
    if data.duration_minutes <= 0 or data.duration_minutes > 24 * 60:
        raise MeetingError(_("Längden ska vara mellan 1 och 1440 minuter."), "duration_minutes")
    if not _EARLIEST <= data.starts_on <= _LATEST:
        raise MeetingError(
            _(
                "Första datum ska ligga mellan %(first)d och %(last)d.",
                first=_EARLIEST.year,
                last=_LATEST.year,
            ),
            "starts_on",
        )
    if data.reminder_minutes is not None and not 0 < data.reminder_minutes <= MAX_REMINDER_MINUTES:
        raise MeetingError(_("En påminnelse kan ligga högst en vecka före mötet."), "reminder_minutes")
    if data.rrule:
        data.rrule = normalise_rrule(data.rrule)
    if data.explicit_dates:
        data.explicit_dates = sorted({date.fromisoformat(d).isoformat() for d in data.explicit_dates})
        data.starts_on = min(data.starts_on, date.fromisoformat(data.explicit_dates[0]))


def _apply(series: MeetingSeries, data: SeriesData) -> None:
    for name in SHOWN_FIELDS + CADENCE_FIELDS + OTHER_FIELDS:
        value = getattr(data, name)
        if name == "kind" and value is None:
            continue
        setattr(series, name, value)
    series.contacts = list(data.contacts)
    series.units = list(data.units)
    series.groups = list(data.groups)


def create_series(session: Session, data: SeriesData, now: datetime | None = None) -> MeetingSeries:
    _validate(data)
    series = MeetingSeries(
        title=data.title,
        start_time=data.start_time,
        starts_on=data.starts_on,
        sequence=0,
        uid=data.uid or new_uid(),
    )
    _apply(series, data)
    session.add(series)
    session.flush()
    regenerate(session, series, now, include_past=True)
    return series


def update_series(
    session: Session, series: MeetingSeries, data: SeriesData, now: datetime | None = None
) -> RegenerationResult:
    """Change the series; raise the sequence of every future occurrence if what they show
    changed, and regenerate them if the cadence changed (keeping overrides)."""
    now = now or utcnow()
    _validate(data)
    visible_before = {occ.id: _visible(occ) for occ in series.occurrences if occ.start >= now}
    before_shown = {name: getattr(series, name) for name in SHOWN_FIELDS}
    before_cadence = {name: getattr(series, name) for name in CADENCE_FIELDS}
    _apply(series, data)
    shown_changed = before_shown != {name: getattr(series, name) for name in SHOWN_FIELDS}
    cadence_changed = before_cadence != {name: getattr(series, name) for name in CADENCE_FIELDS}
    bumped: set[int] = set()
    # Who takes part is not in anyone's calendar event (each invitation names only its
    # own attendee): a new or removed participant changes nothing for the others.
    if shown_changed or cadence_changed:
        series.sequence += 1
        for occ in series.occurrences:
            if occ.start >= now:
                occ.sequence += 1
                bumped.add(occ.id)
    result = regenerate(session, series, now, already_bumped=bumped)
    result.affected = [
        occ
        for occ in series.occurrences
        if occ.id in visible_before and _visible(occ) != visible_before[occ.id]
    ]
    result.previous = {
        occ.id: (visible_before[occ.id][0], visible_before[occ.id][1]) for occ in result.affected
    }
    return result


def extend_due(session: Session, now: datetime | None = None, *, horizon_months: int = HORIZON_MONTHS) -> int:
    """Roll the horizon of every series not yet materialised up to today + horizon.

    Run by the delivery worker between rounds (several workers may run it at once: rows
    being extended by another worker are skipped) and by ``flask commsplan meetings-extend``.
    Commits; returns how many occurrences were created.
    """
    now = now or utcnow()
    target = now.astimezone(ZoneInfo("Europe/Stockholm")).date() + relativedelta(months=horizon_months)
    due = session.scalars(
        select(MeetingSeries)
        .where(or_(MeetingSeries.materialised_until.is_(None), MeetingSeries.materialised_until < target))
        .order_by(MeetingSeries.id)
        .with_for_update(skip_locked=True)
    ).all()
    created = 0
    for series in due:
        created += len(regenerate(session, series, now, horizon_months=horizon_months).created)
    session.commit()
    return created


def delete_series_blockers(series: MeetingSeries) -> list[str]:
    count = sum(len(occ.confirmed_registrations) for occ in series.occurrences)
    if count:
        return [f"{count} anmälningar till tillfällen i serien"]
    return []


# --- single occurrences ----------------------------------------------------------------


def move_occurrence(
    session: Session,
    occurrence: Occurrence,
    start: datetime,
    end: datetime,
    location: str = "",
    online_url: str = "",
    note: str = "",
) -> Occurrence:
    """Move one occurrence (times are aware datetimes); the rest of the series is untouched."""
    if start.tzinfo is None or end.tzinfo is None:
        raise MeetingError(_("Tiden saknar tidszon."))
    if not _EARLIEST <= start.date() <= _LATEST:
        raise MeetingError(
            _("Datumet ska ligga mellan %(first)d och %(last)d.", first=_EARLIEST.year, last=_LATEST.year),
            "day",
        )
    if end <= start:
        raise MeetingError(_("Sluttiden måste vara efter starttiden."))
    occurrence.start = start.astimezone(UTC)
    occurrence.end = end.astimezone(UTC)
    occurrence.location = location
    occurrence.online_url = online_url
    occurrence.note = note
    occurrence.overridden = True
    occurrence.sequence += 1
    session.flush()
    return occurrence


def cancel_occurrence(session: Session, occurrence: Occurrence, note: str = "") -> Occurrence:
    """Cancel one occurrence. It is kept (status cancelled) so calendars show the cancellation."""
    if occurrence.is_cancelled:
        raise MeetingError(_("Tillfället är redan inställt."))
    occurrence.status = OccurrenceStatus.cancelled
    occurrence.overridden = True
    if note:
        occurrence.note = note
    occurrence.sequence += 1
    session.flush()
    return occurrence


def reinstate_occurrence(session: Session, occurrence: Occurrence) -> Occurrence:
    if not occurrence.is_cancelled:
        raise MeetingError(_("Tillfället är inte inställt."))
    occurrence.status = OccurrenceStatus.scheduled
    occurrence.superseded = False
    occurrence.overridden = True
    occurrence.sequence += 1
    session.flush()
    return occurrence


def upcoming(series: MeetingSeries, now: datetime | None = None) -> list[Occurrence]:
    now = now or utcnow()
    return [occ for occ in series.occurrences if occ.end >= now and not occ.superseded]


def past(series: MeetingSeries, now: datetime | None = None) -> list[Occurrence]:
    now = now or utcnow()
    return sorted(
        (occ for occ in series.occurrences if occ.end < now and not occ.superseded),
        key=lambda occ: occ.start,
        reverse=True,
    )


def previous_occurrence(session: Session, occurrence: Occurrence) -> Occurrence | None:
    """The latest earlier occurrence of the same series that has an agenda."""
    return session.scalar(
        select(Occurrence)
        .where(
            Occurrence.series_id == occurrence.series_id,
            Occurrence.start < occurrence.start,
            Occurrence.agenda_items.any(),
        )
        .order_by(Occurrence.start.desc())
        .limit(1)
    )


# --- participants ----------------------------------------------------------------------


def series_with_occurrences(session: Session, series_id: int) -> MeetingSeries | None:
    """A series with its occurrences' agendas and sign-ups loaded: its page lists them all."""
    return session.scalar(
        select(MeetingSeries)
        .where(MeetingSeries.id == series_id)
        .options(
            selectinload(MeetingSeries.occurrences).selectinload(Occurrence.registrations),
            selectinload(MeetingSeries.occurrences).selectinload(Occurrence.agenda_items),
        )
    )


def _participants(series: MeetingSeries) -> Select[tuple[Contact]]:
    direct = select(meeting_series_contact.c.contact_id).where(
        meeting_series_contact.c.series_id == series.id
    )
    via_unit = select(meeting_series_unit.c.unit_id).where(meeting_series_unit.c.series_id == series.id)
    via_group = (
        select(contact_stakeholder_group.c.contact_id)
        .join(meeting_series_group, meeting_series_group.c.group_id == contact_stakeholder_group.c.group_id)
        .where(meeting_series_group.c.series_id == series.id)
    )
    return select(Contact).where(
        Contact.active.is_(True),
        or_(Contact.id.in_(direct), Contact.unit_id.in_(via_unit), Contact.id.in_(via_group)),
    )


def participants_of(session: Session, series: MeetingSeries) -> list[Contact]:
    """Active contacts invited directly, through their unit or through a stakeholder group."""
    return list(session.scalars(_participants(series).order_by(Contact.name, Contact.id)))


def first_participants(session: Session, series: MeetingSeries, limit: int) -> tuple[list[Contact], int]:
    """The first ``limit`` participants (with their units) and how many there are: a
    series for a stakeholder group reaches thousands, which a page does not list."""
    query = _participants(series)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    shown = session.scalars(
        query.options(selectinload(Contact.unit)).order_by(Contact.name, Contact.id).limit(limit)
    )
    return list(shown), total


def series_for_contact(session: Session, contact: Contact) -> list[MeetingSeries]:
    group_ids = select(contact_stakeholder_group.c.group_id).where(
        contact_stakeholder_group.c.contact_id == contact.id
    )
    conditions = [
        MeetingSeries.id.in_(
            select(meeting_series_contact.c.series_id).where(
                meeting_series_contact.c.contact_id == contact.id
            )
        ),
        MeetingSeries.id.in_(
            select(meeting_series_group.c.series_id).where(meeting_series_group.c.group_id.in_(group_ids))
        ),
    ]
    if contact.unit_id is not None:
        conditions.append(
            MeetingSeries.id.in_(
                select(meeting_series_unit.c.series_id).where(
                    meeting_series_unit.c.unit_id == contact.unit_id
                )
            )
        )
    return list(session.scalars(select(MeetingSeries).where(or_(*conditions)).order_by(MeetingSeries.title)))


def occurrences_for_contact(session: Session, contact: Contact) -> list[Occurrence]:
    """Every occurrence (cancelled ones too, for calendars) of the series the contact is in."""
    if not contact.active:
        return []
    series_ids = [series.id for series in series_for_contact(session, contact)]
    if not series_ids:
        return []
    return list(
        session.scalars(
            select(Occurrence).where(Occurrence.series_id.in_(series_ids)).order_by(Occurrence.start)
        )
    )


# --- agenda ----------------------------------------------------------------------------


def agenda_with_times(occurrence: Occurrence) -> list[tuple[AgendaItem, datetime]]:
    """Each agenda item with its local start: from the meeting start, item after item,
    jumping to an item's set time (a break "ca 9.50") when it has one."""
    zone = ZoneInfo(occurrence.series.timezone)
    cursor = occurrence.start.astimezone(zone)
    rows: list[tuple[AgendaItem, datetime]] = []
    for item in occurrence.agenda_items:
        if item.fixed_start is not None:
            cursor = datetime.combine(cursor.date(), item.fixed_start, tzinfo=zone)
        rows.append((item, cursor))
        cursor = cursor + timedelta(minutes=item.duration_minutes or 0)
    return rows


def agenda_numbers(occurrence: Occurrence) -> dict[int, int]:
    """Item id → its number; breaks are not numbered, like a printed agenda."""
    numbers: dict[int, int] = {}
    n = 0
    for item in occurrence.agenda_items:
        if not item.is_break:
            n += 1
            numbers[item.id] = n
    return numbers


@dataclass
class AgendaItemData:
    title: str
    presenter: str = ""
    duration_minutes: int = 0
    is_break: bool = False
    fixed_start: time | None = None
    notes: str = ""
    material_url: str = ""


def _agenda_key(item: AgendaItem | AgendaItemData) -> tuple[object, ...]:
    return (
        item.title.strip(),
        item.presenter.strip(),
        item.duration_minutes,
        item.is_break,
        item.fixed_start,
        item.notes.strip(),
        item.material_url.strip(),
    )


def replace_agenda(session: Session, occurrence: Occurrence, items: Iterable[AgendaItemData]) -> bool:
    """Replace the agenda; returns whether it changed (only then is the sequence raised)."""
    items = list(items)
    if any(data.duration_minutes < 0 for data in items):
        raise MeetingError(_("Längden kan inte vara negativ."))
    if [_agenda_key(i) for i in occurrence.agenda_items] == [_agenda_key(i) for i in items]:
        return False
    occurrence.agenda_items.clear()
    session.flush()
    for position, data in enumerate(items, start=1):
        occurrence.agenda_items.append(
            AgendaItem(
                position=position,
                title=data.title.strip(),
                presenter=data.presenter.strip(),
                duration_minutes=data.duration_minutes,
                is_break=data.is_break,
                fixed_start=data.fixed_start,
                notes=data.notes.strip(),
                material_url=data.material_url.strip(),
            )
        )
    occurrence.sequence += 1
    session.flush()
    return True


def copy_agenda_from_previous(session: Session, occurrence: Occurrence) -> Occurrence | None:
    """Copy the items and practical notes of the previous occurrence with an agenda."""
    source = previous_occurrence(session, occurrence)
    if source is None:
        return None
    replace_agenda(
        session,
        occurrence,
        [
            AgendaItemData(
                title=item.title,
                presenter=item.presenter,
                duration_minutes=item.duration_minutes,
                is_break=item.is_break,
                fixed_start=item.fixed_start,
                notes=item.notes,
                material_url=item.material_url,
            )
            for item in source.agenda_items
        ],
    )
    if not occurrence.practical_notes:
        occurrence.practical_notes = source.practical_notes
    session.flush()
    return source


def update_occurrence_details(
    session: Session,
    occurrence: Occurrence,
    *,
    practical_notes: str,
    material_url: str,
    minutes_url: str,
    minutes_markdown: str,
) -> bool:
    values = (practical_notes, material_url, minutes_url, minutes_markdown)
    current = (
        occurrence.practical_notes,
        occurrence.material_url,
        occurrence.minutes_url,
        occurrence.minutes_markdown,
    )
    if values == current:
        return False
    (
        occurrence.practical_notes,
        occurrence.material_url,
        occurrence.minutes_url,
        occurrence.minutes_markdown,
    ) = values
    occurrence.sequence += 1
    session.flush()
    return True


# --- registration ----------------------------------------------------------------------


def registration_is_open(occurrence: Occurrence, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return (
        occurrence.series.registration_open
        and occurrence.status is OccurrenceStatus.scheduled
        and occurrence.start > now
    )


def registration_count(session: Session, occurrence: Occurrence) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Registration)
            .where(Registration.occurrence_id == occurrence.id, Registration.confirmed_at.is_not(None))
        )
        or 0
    )


# How long a confirmation link for an address the plan does not know stays valid (it never
# outlives the meeting's start).
CONFIRMATION_VALID_FOR = timedelta(hours=48)
# Sign-up mail to one address (confirmation links and confirmations) in the window below;
# beyond it the sign-up gets the same answer but no mail, so no one can flood an inbox.
ADDRESS_MAIL_LIMIT = 3
ADDRESS_MAIL_WINDOW = timedelta(hours=24)
SIGN_UP_MAIL_KINDS = (MessageKind.registration.value, MessageKind.registration_confirm.value)


class SignUpMail(enum.Enum):
    """What the sign-up should mail to the address (the answer on the page is always the same)."""

    nothing = "no_mail"  # already signed up, or the address had enough mail from us today
    confirm_link = "confirm_link"  # an address we do not know: it must confirm first
    confirmation = "confirmation"  # a known address: signed up, here is the meeting


@dataclass(frozen=True)
class RegistrationResult:
    registration: Registration | None
    mail: SignUpMail
    # The confirmation token in clear text, for the link; only the hash is stored.
    confirm_token: str | None = None


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def address_is_known(session: Session, address: str) -> bool:
    """An address counts as known and verified when it belongs to an active contact of the
    plan (a coordinator entered it) or has confirmed a sign-up before."""
    contact = session.scalar(
        select(Contact.id).where(func.lower(Contact.email) == address, Contact.active.is_(True)).limit(1)
    )
    if contact is not None:
        return True
    confirmed = session.scalar(
        select(Registration.id)
        .where(Registration.email == address, Registration.confirmed_at.is_not(None))
        .limit(1)
    )
    return confirmed is not None


def sign_up_mail_count(session: Session, address: str, since: datetime) -> int:
    """Sign-up mail queued to this address since ``since``, counted in the outbox (the
    database), so the limit holds across web processes."""
    return (
        session.scalar(
            select(func.count())
            .select_from(OutboxItem)
            .join(OutgoingMessage, OutgoingMessage.id == OutboxItem.message_id)
            .where(
                OutboxItem.to_address == address,
                OutgoingMessage.kind.in_(SIGN_UP_MAIL_KINDS),
                OutboxItem.created_at >= since,
            )
        )
        or 0
    )


def register(
    session: Session,
    occurrence: Occurrence,
    name: str,
    email: str,
    organisation: str = "",
    now: datetime | None = None,
    language: str = DEFAULT_LANGUAGE,
    *,
    address_mail_limit: int = ADDRESS_MAIL_LIMIT,
) -> RegistrationResult:
    """Sign someone up once per address, without telling the caller whether the address
    was known or already signed up (the caller shows the same answer for every outcome).

    A known address (``address_is_known``) is signed up at once; any other gets a pending
    row and a confirmation link, and only counts once it is confirmed. A second sign-up of
    a confirmed address changes nothing and mails nothing.
    """
    now = now or utcnow()
    if not registration_is_open(occurrence, now):
        raise RegistrationClosed(_("Anmälan till det här tillfället är stängd."))
    address = email.strip().lower()
    existing = session.scalar(
        select(Registration).where(Registration.occurrence_id == occurrence.id, Registration.email == address)
    )
    if existing is not None and existing.is_confirmed:
        return RegistrationResult(existing, SignUpMail.nothing)
    if sign_up_mail_count(session, address, now - ADDRESS_MAIL_WINDOW) >= address_mail_limit:
        log.warning("sign-up mail limit reached for an address; occurrence %s", occurrence.id)
        return RegistrationResult(existing, SignUpMail.nothing)
    known = address_is_known(session, address)
    registration = existing or Registration(occurrence_id=occurrence.id, email=address)
    registration.name = name.strip()
    registration.organisation = organisation.strip()
    registration.language = mail_language(language)
    token = None
    if known:
        registration.confirmed_at = now
        registration.confirm_token_hash = None
        registration.confirm_expires_at = None
    else:
        token = secrets.token_urlsafe(32)
        registration.confirm_token_hash = _hash_token(token)
        registration.confirm_expires_at = min(now + CONFIRMATION_VALID_FOR, occurrence.start)
    try:
        # A savepoint: two simultaneous sign-ups from one address end as one row, not a 500.
        with session.begin_nested():
            session.add(registration)
    except IntegrityError:
        session.expire(occurrence, ["registrations"])
        return RegistrationResult(None, SignUpMail.nothing)
    session.expire(occurrence, ["registrations"])
    if known:
        return RegistrationResult(registration, SignUpMail.confirmation)
    return RegistrationResult(registration, SignUpMail.confirm_link, token)


def pending_registration(session: Session, token: str, now: datetime | None = None) -> Registration | None:
    """The unconfirmed sign-up a confirmation link is for, while the link is valid."""
    if not token or len(token) > 100:
        return None
    now = now or utcnow()
    registration = session.scalar(
        select(Registration).where(Registration.confirm_token_hash == _hash_token(token))
    )
    if (
        registration is None
        or registration.is_confirmed
        or registration.confirm_expires_at is None
        or registration.confirm_expires_at <= now
        or not registration_is_open(registration.occurrence, now)
    ):
        return None
    return registration


def confirm_registration(session: Session, registration: Registration, now: datetime | None = None) -> None:
    registration.confirmed_at = now or utcnow()
    registration.confirm_token_hash = None
    registration.confirm_expires_at = None
    session.flush()
    session.expire(registration.occurrence, ["registrations"])


def purge_unconfirmed(session: Session, now: datetime | None = None) -> int:
    """Forget sign-ups whose confirmation link has expired (a periodic job): an address
    that never confirmed is not kept. Commits, like the other periodic jobs."""
    result = session.execute(
        delete(Registration).where(
            Registration.confirmed_at.is_(None), Registration.confirm_expires_at <= (now or utcnow())
        )
    )
    session.commit()
    return result.rowcount or 0


def registration_by_token(session: Session, token: str) -> Registration | None:
    if not token:
        return None
    return session.scalar(select(Registration).where(Registration.token == token))


def cancel_registration(session: Session, registration: Registration) -> None:
    session.delete(registration)
    session.flush()
