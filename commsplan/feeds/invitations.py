"""iMIP invitations (RFC 6047): meeting occurrences sent to participants' calendars.

Each person gets one mail per occurrence with a single VEVENT (METHOD:REQUEST) naming
them as ATTENDEE: Outlook reads only the first event of a message, and a mail per
person keeps the other participants' addresses private. Later changes go to exactly
the people recorded in ``Invitation`` — a REQUEST with the raised SEQUENCE after a move,
a CANCEL when the occurrence or the series is cancelled. All mail goes through the
durable outbox in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr

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
from commsplan.feeds import ical
from commsplan.feeds.models import Invitation
from commsplan.feeds.services import occurrence_url
from commsplan.languages import contact_language, localised_url
from commsplan.meetings import services as meetings
from commsplan.meetings.models import MeetingSeries, Occurrence
from commsplan.meetings.notify import short_when, when
from commsplan.timeutil import local, utcnow

SOURCE_TYPE = "occurrence"
HORIZON_MONTHS = 12


@dataclass(frozen=True)
class InvitationPlan:
    """What ``send_invitations`` would do: shown on the confirmation page first."""

    occurrences: list[Occurrence]
    recipients: list[ical.Person]
    mails: int


def default_organiser() -> ical.Person:
    name, email = parseaddr(current_app.config["MAIL_DEFAULT_SENDER"])
    return ical.Person(email, name)


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
    occurrences = _invitable(series, now)
    people = _participants(session, series)
    known = _invitations(session, [occ.id for occ in occurrences])
    queued = 0
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
    _send(session, occ, ical.Method.request, person, contact_id, kind, sequence, now)
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
    for occ in occurrences:
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
    return send_updates(session, [occ for occ in series.occurrences if occ.end >= now], now)


def cancel_series(session: Session, series: MeetingSeries, now: datetime | None = None) -> int:
    """Send CANCEL for every invited future occurrence, e.g. before the series is deleted.

    The occurrences themselves are left as they are; each CANCEL carries a SEQUENCE above
    the last one sent, so calendars accept it over the last REQUEST.
    """
    now = now or utcnow()
    queued = 0
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
) -> None:
    """One iMIP mail to one person, in that contact's language (Swedish by default)."""
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
            "recipient": person,
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
