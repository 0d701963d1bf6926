"""Mail from meetings: the registration confirmation with the meeting as an .ics file.

Goes through the durable outbox (``delivery.enqueue``) in the same transaction as the
registration, so a sign-up and its confirmation are stored together or not at all.
"""

from __future__ import annotations

from flask import render_template
from flask_babel import format_date, format_time
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from commsplan.delivery.models import OutgoingMessage
from commsplan.delivery.services import Addressee, enqueue
from commsplan.feeds import ical
from commsplan.meetings.models import Occurrence, Registration
from commsplan.timeutil import STOCKHOLM, utcnow


def occurrence_ics(occurrence: Occurrence, url: str | None = None) -> str:
    """The occurrence as a VCALENDAR (METHOD:PUBLISH) for a mail attachment."""
    event = ical.occurrence_to_event(occurrence, stamp=utcnow(), url=url)
    calendar = ical.calendar_of(occurrence.series.title, [event], ical.Method.publish)
    return ical.to_bytes(calendar).decode("utf-8")


def _when(occurrence: Occurrence) -> str:
    start, end = occurrence.start.astimezone(STOCKHOLM), occurrence.end.astimezone(STOCKHOLM)
    return f"{format_date(start, 'EEEE d MMMM y')} {format_time(start, 'HH.mm')}–{format_time(end, 'HH.mm')}"


def _ics_attachment(occurrence: Occurrence, meeting_url: str) -> dict[str, str]:
    """The meeting as a plain calendar file (METHOD:PUBLISH) for people who signed up."""
    return {
        "filename": "mote.ics",
        "content_type": "text/calendar; charset=utf-8; method=PUBLISH",
        "content": occurrence_ics(occurrence, meeting_url),
    }


def queue_confirmation(
    session: Session, registration: Registration, *, meeting_url: str, cancel_url: str
) -> int:
    """Queue the confirmation for one sign-up; the caller commits."""
    occurrence = registration.occurrence
    from commsplan.meetings.services import agenda_numbers, agenda_with_times

    context = {
        "registration": registration,
        "occ": occurrence,
        "series": occurrence.series,
        "when": _when(occurrence),
        "agenda": agenda_with_times(occurrence),
        "numbers": agenda_numbers(occurrence),
        "meeting_url": meeting_url,
        "cancel_url": cancel_url,
    }
    message = OutgoingMessage(
        kind="registration",
        subject=_("Anmälan bekräftad: %(title)s %(day)s", title=occurrence.series.title, day=context["when"]),
        text_body=render_template("email/meetings/registration_confirmation.txt", **context),
        html_body=render_template("email/meetings/registration_confirmation.html", **context),
        headers={},
        attachments=[_ics_attachment(occurrence, meeting_url)],
        source_type="occurrence",
        source_id=occurrence.id,
    )
    return enqueue(
        session,
        message,
        [Addressee(email=registration.email, name=registration.name, reason=_("anmälan till möte"))],
    )


def queue_registrant_update(
    session: Session, occurrence: Occurrence, *, meeting_url: str, cancel_urls: dict[int, str]
) -> int:
    """Tell everyone signed up that the meeting moved or was cancelled, with the new .ics.

    The attachment keeps the UID and carries the raised SEQUENCE, so a calendar program
    that imported the confirmation updates (or cancels) the same event.
    """
    registrations = list(occurrence.registrations)
    if not registrations:
        return 0
    cancelled = occurrence.is_cancelled
    context = {
        "occ": occurrence,
        "series": occurrence.series,
        "when": _when(occurrence),
        "cancelled": cancelled,
        "meeting_url": meeting_url,
    }
    subject = (
        _("Inställt: %(title)s %(day)s", title=occurrence.series.title, day=context["when"])
        if cancelled
        else _("Ändrad tid: %(title)s %(day)s", title=occurrence.series.title, day=context["when"])
    )
    message = OutgoingMessage(
        kind="registration_update",
        subject=subject,
        text_body=render_template("email/meetings/registration_update.txt", **context),
        html_body=render_template("email/meetings/registration_update.html", **context),
        headers={},
        attachments=[_ics_attachment(occurrence, meeting_url)],
        source_type="occurrence",
        source_id=occurrence.id,
    )
    return enqueue(
        session,
        message,
        [
            Addressee(
                email=reg.email,
                name=reg.name,
                personalisation={"name": reg.name, "cancel_url": cancel_urls.get(reg.id, meeting_url)},
                reason=_("anmäld till mötet"),
            )
            for reg in registrations
        ],
    )
