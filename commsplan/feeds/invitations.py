"""iMIP invitations (RFC 6047): meeting series sent to participants' calendars.

A series a rule expresses goes to each person as ONE recurring event (``recurrence``):
one REQUEST with the master and its overrides; later, one message about what changed,
only to people whose calendar it changes (``SeriesInvitation.state``): a CANCEL of the
cancelled dates, a REQUEST of the moved or changed ones, or the whole series again when
the series itself changed. Adding or removing a participant mails only that person.

A series of explicit dates (or whose past no longer fits its rule) is sent as one event
per occurrence, the form every client handles for unrelated dates: each person gets one
mail per occurrence with a single VEVENT (METHOD:REQUEST) naming
them as ATTENDEE: Outlook reads only the first event of a message, and a mail per
person keeps the other participants' addresses private. Later changes go to exactly
the people recorded in ``Invitation`` — a REQUEST with the raised SEQUENCE after a move,
a CANCEL when the occurrence or the series is cancelled. All mail goes through the
durable outbox in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from dateutil.relativedelta import relativedelta
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from icalendar import Calendar
from icalendar.enums import STATUS
from sqlalchemy import select
from sqlalchemy.orm import Session

from commsplan.delivery.models import OutgoingMessage
from commsplan.delivery.services import Addressee, enqueue
from commsplan.feeds import ical, recurrence
from commsplan.feeds.models import Invitation, SeriesInvitation
from commsplan.feeds.services import CALENDAR_LANGUAGE, occurrence_url
from commsplan.languages import contact_language, localised_url
from commsplan.meetings import services as meetings
from commsplan.meetings.forms import describe_cadence
from commsplan.meetings.models import MeetingSeries, Occurrence
from commsplan.meetings.notify import moved_sentence, short_when, when
from commsplan.subscriptions.services import preferences_url
from commsplan.timeutil import local, utcnow

SOURCE_TYPE = "occurrence"
SERIES_SOURCE_TYPE = "meeting_series"
HORIZON_MONTHS = 12


@dataclass(frozen=True)
class InvitationPlan:
    """What ``send_invitations`` would do: shown on the confirmation page first."""

    occurrences: list[Occurrence]
    recipients: list[ical.Person]
    mails: int


def default_organiser() -> ical.Person:
    return ical.sender_person(current_app.config["MAIL_DEFAULT_SENDER"])


def _invitable(series: MeetingSeries, now: datetime) -> list[Occurrence]:
    # A year ahead: a monthly series should not land 24 mails at once. Sending again
    # later invites to the occurrences that have come within reach.
    until = now + relativedelta(months=HORIZON_MONTHS)
    return [
        occ for occ in meetings.upcoming(series, now) if not occ.is_cancelled and now <= occ.start < until
    ]


def _participants(session: Session, series: MeetingSeries) -> list[tuple[ical.Person, int | None]]:
    return [(ical.Person(c.email.lower(), c.name), c.id) for c in meetings.participants_of(session, series)]


def _invitations(session: Session, occurrence_ids: Sequence[int]) -> dict[tuple[int, str], Invitation]:
    if not occurrence_ids:
        return {}
    rows = session.scalars(select(Invitation).where(Invitation.occurrence_id.in_(occurrence_ids)))
    return {(row.occurrence_id, row.email): row for row in rows}


def _holds(invitation: Invitation | None) -> bool:
    """Whether the person's calendar holds the event (invited and not since cancelled)."""
    return invitation is not None and not invitation.cancelled


def plan_invitations(session: Session, series: MeetingSeries, now: datetime | None = None) -> InvitationPlan:
    now = now or utcnow()
    calendar = recurrence.build(series)
    if calendar is not None:
        return _plan_series(session, calendar, now)
    occurrences = _invitable(series, now)
    people = _participants(session, series)
    known = _invitations(session, [occ.id for occ in occurrences])
    mails = sum(
        1 for occ in occurrences for person, _id in people if not _holds(known.get((occ.id, person.email)))
    )
    return InvitationPlan(occurrences, [person for person, _id in people], mails)


def send_invitations(session: Session, series: MeetingSeries, now: datetime | None = None) -> int:
    """Invite every participant to every upcoming occurrence their calendar does not hold.

    Sending again is safe: only new participants, re-added ones and new occurrences get
    mail. Returns the number of mails queued; the caller commits.
    """
    now = now or utcnow()
    calendar = recurrence.build(series)
    if calendar is not None:
        retired = _retire_occurrence_invitations(session, series, now)
        return len(retired) + _sync_series(session, calendar, now, invite_new=True)
    queued = _cancel_series_invitations(session, series, now)
    occurrences = _invitable(series, now)
    people = _participants(session, series)
    known = _invitations(session, [occ.id for occ in occurrences])
    for occ in occurrences:
        for person, contact_id in people:
            invitation = known.get((occ.id, person.email))
            if _holds(invitation):
                continue
            if invitation is None:
                invitation = Invitation(occurrence_id=occ.id, email=person.email, contact_id=contact_id)
                session.add(invitation)
            _request(session, occ, invitation, person, contact_id, "invitation", now)
            queued += 1
    session.flush()
    return queued


def _request(
    session: Session,
    occ: Occurrence,
    invitation: Invitation,
    person: ical.Person,
    contact_id: int | None,
    kind: str,
    now: datetime,
) -> None:
    # After a CANCEL the calendar only accepts a REQUEST with a higher SEQUENCE.
    sequence = occ.sequence
    if invitation.cancelled and invitation.sequence_sent is not None:
        sequence = max(sequence, invitation.sequence_sent + 1)
    before = invitation.start_sent if kind == "invitation_update" and not invitation.cancelled else None
    _send(session, occ, ical.Method.request, person, contact_id, kind, sequence, now, before)
    invitation.start_sent = occ.start
    invitation.name = person.name
    invitation.cancelled = False
    invitation.sequence_sent = sequence
    invitation.sent_at = now


def _cancel(session: Session, occ: Occurrence, invitation: Invitation, now: datetime) -> None:
    sequence = max(occ.sequence, (invitation.sequence_sent or 0) + 1)
    person = ical.Person(invitation.email, invitation.name)
    _send(session, occ, ical.Method.cancel, person, invitation.contact_id, "invitation_cancel", sequence, now)
    invitation.cancelled = True
    invitation.sequence_sent = sequence
    invitation.sent_at = now


def send_updates(session: Session, occurrences: Iterable[Occurrence], now: datetime | None = None) -> int:
    """Bring every invited calendar up to date with these occurrences.

    A moved or edited occurrence (higher SEQUENCE) goes out again as REQUEST; a cancelled
    one, or one whose invitee is no longer a participant, as CANCEL; a reinstated one as
    REQUEST again. Call it after ``meetings.services`` moved, cancelled, reinstated or
    edited occurrences or the series. Returns the number of mails queued.
    """
    now = now or utcnow()
    queued = 0
    participants: dict[int, dict[str, int | None]] = {}
    rule_series: dict[int, recurrence.SeriesCalendar | None] = {}
    for occ in occurrences:
        if occ.series_id not in rule_series:
            calendar = rule_series[occ.series_id] = recurrence.build(occ.series)
            if calendar is not None:
                queued += _sync_series(session, calendar, now, invite_new=False)
        if rule_series[occ.series_id] is not None:
            continue
        if occ.series_id not in participants:
            participants[occ.series_id] = {p.email: cid for p, cid in _participants(session, occ.series)}
        current = participants[occ.series_id]
        invitations = session.scalars(
            select(Invitation).where(Invitation.occurrence_id == occ.id).order_by(Invitation.id)
        ).all()
        for invitation in invitations:
            wanted = not occ.is_cancelled and invitation.email in current
            if not wanted:
                if invitation.cancelled:
                    continue
                _cancel(session, occ, invitation, now)
            elif invitation.cancelled or occ.sequence > invitation.sequence_sent:
                person = ical.Person(invitation.email, invitation.name)
                _request(session, occ, invitation, person, invitation.contact_id, "invitation_update", now)
            else:
                continue
            queued += 1
    session.flush()
    return queued


def send_series_updates(session: Session, series: MeetingSeries, now: datetime | None = None) -> int:
    """``send_updates`` for every occurrence of a series that has not ended."""
    now = now or utcnow()
    calendar = recurrence.build(series)
    if calendar is not None:
        # Whoever held the dates one by one now gets the series as one event.
        retired = _retire_occurrence_invitations(session, series, now)
        return len(retired) + _sync_series(session, calendar, now, invite_new={email for email, _ in retired})
    queued = _cancel_series_invitations(session, series, now)
    return queued + send_updates(session, [occ for occ in series.occurrences if occ.end >= now], now)


def cancel_series(session: Session, series: MeetingSeries, now: datetime | None = None) -> int:
    """Send CANCEL for every invited future occurrence, e.g. before the series is deleted.

    The occurrences themselves are left as they are; each CANCEL carries a SEQUENCE above
    the last one sent, so calendars accept it over the last REQUEST.
    """
    now = now or utcnow()
    queued = _cancel_series_invitations(session, series, now)
    for occ in series.occurrences:
        if occ.end < now:
            continue
        for invitation in session.scalars(
            select(Invitation).where(Invitation.occurrence_id == occ.id, Invitation.cancelled.is_(False))
        ):
            _cancel(session, occ, invitation, now)
            queued += 1
    session.flush()
    return queued


def invitations_for(session: Session, occurrence: Occurrence) -> list[Invitation]:
    return list(
        session.scalars(
            select(Invitation).where(Invitation.occurrence_id == occurrence.id).order_by(Invitation.email)
        )
    )


def invitation_calendar(
    occurrence: Occurrence,
    method: ical.Method,
    attendee: ical.Person,
    sequence: int,
    now: datetime,
    url: str | None = None,
) -> Calendar:
    """The VCALENDAR of one invitation or cancellation for one attendee; ``url`` is the
    page the event links to (default: the public occurrence page)."""
    event = ical.occurrence_to_event(
        occurrence,
        stamp=now,
        url=url or occurrence_url(occurrence),
        attendees=[attendee],
        fallback_organiser=default_organiser(),
        rsvp=False,
    )
    event.sequence = sequence
    if method is ical.Method.cancel:
        event.status = STATUS.CANCELLED
    return ical.calendar_of(occurrence.series.title, [event], method)


def _preferences(contact_id: int | None, language: str) -> str:
    """A contact's own preferences page, as every mail to a contact links to (a fresh
    signed token per mail); people outside the plan have none."""
    return localised_url(preferences_url(contact_id), language) if contact_id else ""


def _subject(occurrence: Occurrence, kind: str) -> str:
    when = short_when(occurrence)
    title = occurrence.series.title
    if kind == "invitation_cancel":
        return _("Inställt: %(title)s %(when)s", title=title, when=when)
    if kind == "invitation_update":
        return _("Ändrat: %(title)s %(when)s", title=title, when=when)
    return _("Inbjudan: %(title)s %(when)s", title=title, when=when)


def _send(
    session: Session,
    occurrence: Occurrence,
    method: ical.Method,
    person: ical.Person,
    contact_id: int | None,
    kind: str,
    sequence: int,
    now: datetime,
    before: datetime | None = None,
) -> None:
    """One iMIP mail to one person, in that contact's language (Swedish by default);
    ``before``: where the meeting started in their calendar, for an update that moves it."""
    language = contact_language(session, contact_id)
    with force_locale(language):
        public_url = occurrence_url(occurrence)
        url = localised_url(public_url, language) if public_url else None
        calendar = invitation_calendar(occurrence, method, person, sequence, now, url)
        start = local(occurrence.start)
        context = {
            "lang": language,
            "occurrence": occurrence,
            "series": occurrence.series,
            "kind": kind,
            "when": when(occurrence),
            "start": start,
            "end": local(occurrence.end),
            "url": url,
            "agenda": ical.agenda_summary(occurrence),
            "moved": moved_sentence(before, occurrence.start)
            if before is not None and before != occurrence.start
            else "",
            "recipient": person,
            "preferences_url": _preferences(contact_id, language),
        }
        message = OutgoingMessage(
            kind=kind,
            subject=_subject(occurrence, kind),
            text_body=render_template("email/feeds/invitation.txt", **context),
            html_body=render_template("email/feeds/invitation.html", **context),
            headers={},
            attachments=[
                ical.mail_attachment(calendar, "cancel.ics" if method is ical.Method.cancel else "invite.ics")
            ],
            source_type=SOURCE_TYPE,
            source_id=occurrence.id,
        )
    enqueue(
        session,
        message,
        [Addressee(email=person.email, name=person.name, contact_id=contact_id, reason=kind)],
    )


# --- a rule series as one recurring event ------------------------------------------------


def _series_invitations(session: Session, series: MeetingSeries) -> dict[str, SeriesInvitation]:
    rows = session.scalars(
        select(SeriesInvitation).where(SeriesInvitation.series_id == series.id).order_by(SeriesInvitation.id)
    )
    return {row.email: row for row in rows}


def _plan_series(session: Session, calendar: recurrence.SeriesCalendar, now: datetime) -> InvitationPlan:
    people = _participants(session, calendar.series)
    known = _series_invitations(session, calendar.series)
    mails = sum(1 for person, _id in people if person.email not in known or known[person.email].cancelled)
    upcoming = [occ for occ in calendar.scheduled if occ.end >= now]
    return InvitationPlan(upcoming, [person for person, _id in people], mails)


def _upcoming_keys(calendar: recurrence.SeriesCalendar, now: datetime) -> list[str]:
    return [recurrence.rid(occ.original_start) for occ in calendar.scheduled if occ.end >= now]


def _sync_series(
    session: Session, calendar: recurrence.SeriesCalendar, now: datetime, *, invite_new: bool | set[str]
) -> int:
    """Bring every invitee's calendar to the series as it is now; with ``invite_new``
    also invite participants who were never invited (True: all of them; a set: those
    addresses). Returns the number of mails queued."""
    series = calendar.series
    people = {person.email: (person, contact_id) for person, contact_id in _participants(session, series)}
    known = _series_invitations(session, series)
    organiser = default_organiser()
    with force_locale(CALENDAR_LANGUAGE):
        wanted = recurrence.state(calendar, now, occurrence_url, organiser)
    upcoming = _upcoming_keys(calendar, now)
    queued = 0
    for email, row in known.items():
        if email not in people and not row.cancelled:
            sequence = max(calendar.sequence, row.sequence_sent + 1)
            person = ical.Person(row.email, row.name)
            queued += _deliver(session, calendar, person, row.contact_id, "series_cancel", sequence, now)
            row.cancelled, row.sequence_sent, row.sent_at = True, sequence, now
    for email, (person, contact_id) in people.items():
        row = known.get(email)
        if row is None:
            if not (invite_new is True or (invite_new and email in invite_new)):
                continue
            row = SeriesInvitation(series_id=series.id, email=email, contact_id=contact_id, sequence_sent=0)
            session.add(row)
            sequence = calendar.sequence
            change = recurrence.Change(full=True)
            kind = "series_invitation"
        elif row.cancelled:
            sequence = max(calendar.sequence, row.sequence_sent + 1)
            change = recurrence.Change(full=True)
            kind = "series_invitation"
        else:
            change = recurrence.change_between(row.state, wanted, upcoming)
            if change.empty:
                continue
            sequence = max(calendar.sequence, row.sequence_sent + 1)
            kind = "series_update"
        if change.full:
            queued += _deliver(session, calendar, person, contact_id, kind, sequence, now)
        if change.cancelled:
            queued += _deliver(
                session, calendar, person, contact_id, "series_dates_cancel", sequence, now, change.cancelled
            )
        if change.changed:
            originals = {recurrence.rid(occ.original_start): occ.original_start for occ in calendar.scheduled}
            moved_from = {
                key: recurrence.previous_start(row.state if row else None, key, originals[key])
                for key in change.changed
                if key in originals
            }
            queued += _deliver(
                session,
                calendar,
                person,
                contact_id,
                "series_dates_update",
                sequence,
                now,
                change.changed,
                moved_from,
            )
        row.name, row.contact_id = person.name, contact_id
        row.state, row.cancelled, row.sequence_sent, row.sent_at = wanted, False, sequence, now
    session.flush()
    return queued


def _cancel_series_invitations(session: Session, series: MeetingSeries, now: datetime) -> int:
    """CANCEL the recurring event in every calendar that holds it (series deleted, or it is
    now sent date by date)."""
    rows = [row for row in _series_invitations(session, series).values() if not row.cancelled]
    if not rows:
        return 0
    calendar = recurrence.build(series) or _fallback_calendar(series)
    for row in rows:
        sequence = max(calendar.sequence if calendar else 0, row.sequence_sent + 1)
        if calendar is not None:
            _deliver(
                session,
                calendar,
                ical.Person(row.email, row.name),
                row.contact_id,
                "series_cancel",
                sequence,
                now,
            )
        row.cancelled, row.sequence_sent, row.sent_at = True, sequence, now
    session.flush()
    return len(rows) if calendar is not None else 0


def _fallback_calendar(series: MeetingSeries) -> recurrence.SeriesCalendar | None:
    """Enough of the old recurring event to cancel it after its rule stopped fitting."""
    live = sorted(
        (occ for occ in series.occurrences if not occ.superseded), key=lambda occ: occ.original_start
    )
    if not live:
        return None
    return recurrence.SeriesCalendar(series, live[0].original_start, [], [], [], [])


def _retire_occurrence_invitations(
    session: Session, series: MeetingSeries, now: datetime
) -> list[tuple[str, int]]:
    """CANCEL the per-date events a calendar holds from before the series was one event;
    returns (address, occurrence id) of each CANCEL."""
    retired: list[tuple[str, int]] = []
    for occ in series.occurrences:
        if occ.end < now:
            continue
        for invitation in session.scalars(
            select(Invitation).where(Invitation.occurrence_id == occ.id, Invitation.cancelled.is_(False))
        ):
            _cancel(session, occ, invitation, now)
            retired.append((invitation.email, occ.id))
    return retired


_SERIES_SUBJECTS = {
    "series_invitation": lambda title: _("Inbjudan: %(title)s (mötesserie)", title=title),
    "series_update": lambda title: _("Ändrad mötesserie: %(title)s", title=title),
    "series_cancel": lambda title: _("Inställd mötesserie: %(title)s", title=title),
}


def _series_calendar(
    calendar: recurrence.SeriesCalendar,
    kind: str,
    person: ical.Person,
    sequence: int,
    now: datetime,
    keys: Sequence[str],
    url_of: recurrence.UrlOf,
) -> Calendar:
    organiser = default_organiser()
    attendees = [person]
    by_key = {recurrence.rid(occ.original_start): occ for occ in calendar.cancelled + calendar.scheduled}
    if kind == "series_cancel":
        method = ical.Method.cancel
        events = [
            recurrence.master_event(
                calendar,
                stamp=now,
                sequence=sequence,
                organiser=organiser,
                attendees=attendees,
                cancelled=True,
            )
        ]
    elif kind == "series_dates_cancel":
        method = ical.Method.cancel
        events = [
            recurrence.cancelled_instance_event(
                calendar, by_key[key], stamp=now, sequence=sequence, organiser=organiser, attendees=attendees
            )
            for key in keys
        ]
    elif kind == "series_dates_update":
        method = ical.Method.request
        events = [
            recurrence.override_event(
                calendar,
                by_key[key],
                stamp=now,
                sequence=sequence,
                url=url_of(by_key[key]),
                organiser=organiser,
                attendees=attendees,
            )
            for key in keys
        ]
    else:
        method = ical.Method.request
        events = [
            recurrence.master_event(
                calendar, stamp=now, sequence=sequence, organiser=organiser, attendees=attendees
            )
        ] + [
            recurrence.override_event(
                calendar,
                occ,
                stamp=now,
                sequence=sequence,
                url=url_of(occ),
                organiser=organiser,
                attendees=attendees,
            )
            for occ in calendar.overrides
            if occ.end >= now
        ]
    return ical.calendar_of(calendar.series.title, events, method)


def _date_line(occ: Occurrence, before: datetime | None) -> str:
    """One changed date: from where to where if it moved, then its new time span."""
    if before is not None and before != occ.start:
        return f"{moved_sentence(before, occ.start)} {when(occ)}"
    return when(occ)


def _deliver(
    session: Session,
    calendar: recurrence.SeriesCalendar,
    person: ical.Person,
    contact_id: int | None,
    kind: str,
    sequence: int,
    now: datetime,
    keys: Sequence[str] = (),
    moved_from: Mapping[str, datetime] | None = None,
) -> int:
    """One iMIP mail about a recurring series to one person, in that contact's language;
    ``moved_from`` holds where each changed date started in their calendar before."""
    series = calendar.series
    language = contact_language(session, contact_id)
    by_key = {recurrence.rid(occ.original_start): occ for occ in calendar.cancelled + calendar.scheduled}
    dates = [by_key[key] for key in keys]
    with force_locale(language):

        def url_of(occ: Occurrence) -> str | None:
            public_url = occurrence_url(occ)
            return localised_url(public_url, language) if public_url else None

        ics = _series_calendar(calendar, kind, person, sequence, now, keys, url_of)
        if kind in _SERIES_SUBJECTS:
            subject = _SERIES_SUBJECTS[kind](series.title)
        elif kind == "series_dates_cancel":
            subject = _("Inställt: %(title)s %(when)s", title=series.title, when=short_when(dates[0]))
        else:
            subject = _("Ändrat: %(title)s %(when)s", title=series.title, when=short_when(dates[0]))
        upcoming = [occ for occ in calendar.scheduled if occ.end >= now][:6]
        context = {
            "lang": language,
            "series": series,
            "kind": kind,
            "cadence": describe_cadence(series),
            "upcoming": [(when(occ), url_of(occ)) for occ in upcoming],
            "dates": [
                (_date_line(occ, (moved_from or {}).get(key)), url_of(occ))
                for key, occ in zip(keys, dates, strict=True)
            ],
            "recipient": person,
            "preferences_url": _preferences(contact_id, language),
        }
        message = OutgoingMessage(
            kind=kind,
            subject=subject,
            text_body=render_template("email/feeds/series_invitation.txt", **context),
            html_body=render_template("email/feeds/series_invitation.html", **context),
            headers={},
            attachments=[
                ical.mail_attachment(
                    ics, "cancel.ics" if ics.get("METHOD") == ical.Method.cancel.value else "invite.ics"
                )
            ],
            source_type=SERIES_SOURCE_TYPE,
            source_id=series.id,
        )
    enqueue(
        session,
        message,
        [Addressee(email=person.email, name=person.name, contact_id=contact_id, reason=kind)],
    )
    return 1
