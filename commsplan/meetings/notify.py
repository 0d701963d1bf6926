"""Mail from meetings: the registration confirmation with the meeting as an .ics file.

Goes through the durable outbox (``delivery.enqueue``) in the same transaction as the
registration, so a sign-up and its confirmation are stored together or not at all. Each
mail is in the language the person chose when signing up.
"""

from __future__ import annotations

from flask import render_template
from flask_babel import force_locale, format_date, format_time, get_locale
from flask_babel import gettext as _
from icalendar import Calendar
from sqlalchemy.orm import Session

from commsplan.delivery.models import OutgoingMessage
from commsplan.delivery.services import Addressee, enqueue
from commsplan.feeds import ical
from commsplan.languages import MAIL_LANGUAGES, localised_url, mail_language
from commsplan.meetings.models import Occurrence, Registration
from commsplan.meetings.services import agenda_numbers, agenda_with_times
from commsplan.timeutil import STOCKHOLM, utcnow

# Clock times as each language writes them.
_TIME_PATTERNS = {"sv": "HH.mm", "en": "HH:mm"}


def occurrence_ics(occurrence: Occurrence, url: str | None = None) -> Calendar:
    """The occurrence as a VCALENDAR (METHOD:PUBLISH) for a mail attachment."""
    event = ical.occurrence_to_event(occurrence, stamp=utcnow(), url=url)
    return ical.calendar_of(occurrence.series.title, [event], ical.Method.publish)


def _time_pattern() -> str:
    locale = get_locale()
    return _TIME_PATTERNS[mail_language(locale.language if locale else None)]


def when(occurrence: Occurrence) -> str:
    """Day and time span in the current locale ("onsdag 6 mars 2024 09.00–10.30")."""
    start, end = occurrence.start.astimezone(STOCKHOLM), occurrence.end.astimezone(STOCKHOLM)
    pattern = _time_pattern()
    return f"{format_date(start, 'EEEE d MMMM y')} {format_time(start, pattern)}–{format_time(end, pattern)}"


def short_when(occurrence: Occurrence) -> str:
    """Date and start for a subject line: "2024-03-06 09.00" ("09:00" in English)."""
    start = occurrence.start.astimezone(STOCKHOLM)
    return f"{start:%Y-%m-%d} {format_time(start, _time_pattern())}"


def _ics_attachment(occurrence: Occurrence, meeting_url: str) -> dict[str, str]:
    """The meeting as a plain calendar file (METHOD:PUBLISH) for people who signed up."""
    return ical.mail_attachment(occurrence_ics(occurrence, meeting_url), "mote.ics")


def queue_confirmation(
    session: Session, registration: Registration, *, meeting_url: str, cancel_url: str
) -> int:
    """Queue the confirmation for one sign-up, in its language; the caller commits."""
    occurrence = registration.occurrence
    reason = _("anmälan till möte")
    language = mail_language(registration.language)
    meeting_url, cancel_url = localised_url(meeting_url, language), localised_url(cancel_url, language)
    with force_locale(language):
        context = {
            "lang": language,
            "registration": registration,
            "occ": occurrence,
            "series": occurrence.series,
            "when": when(occurrence),
            "agenda": agenda_with_times(occurrence),
            "numbers": agenda_numbers(occurrence),
            "meeting_url": meeting_url,
            "cancel_url": cancel_url,
        }
        message = OutgoingMessage(
            kind="registration",
            subject=_(
                "Anmälan bekräftad: %(title)s %(day)s", title=occurrence.series.title, day=context["when"]
            ),
            text_body=render_template("email/meetings/registration_confirmation.txt", **context),
            html_body=render_template("email/meetings/registration_confirmation.html", **context),
            headers={},
            attachments=[_ics_attachment(occurrence, meeting_url)],
            source_type="occurrence",
            source_id=occurrence.id,
        )
    # No name in the To: header: what the registrant typed is never put in mail.
    return enqueue(session, message, [Addressee(email=registration.email, reason=reason)])


def queue_confirm_link(session: Session, registration: Registration, *, confirm_url: str) -> int:
    """Ask an address the plan does not know to confirm a sign-up made in its name.

    Whoever filled in the form may not own the address, so the mail carries only our own
    text, the meeting's title and time, and the link: nothing the registrant typed.
    """
    occurrence = registration.occurrence
    language = mail_language(registration.language)
    confirm_url = localised_url(confirm_url, language)
    with force_locale(language):
        context = {
            "lang": language,
            "occ": occurrence,
            "series": occurrence.series,
            "when": when(occurrence),
            "confirm_url": confirm_url,
        }
        message = OutgoingMessage(
            kind="registration_confirm",
            subject=_("Bekräfta din anmälan: %(title)s", title=occurrence.series.title),
            text_body=render_template("email/meetings/registration_confirm_link.txt", **context),
            html_body=render_template("email/meetings/registration_confirm_link.html", **context),
            headers={},
            attachments=[],
            source_type="occurrence",
            source_id=occurrence.id,
        )
        reason = _("anmälan till möte som väntar på bekräftelse")
    return enqueue(session, message, [Addressee(email=registration.email, reason=reason)])


def queue_registrant_update(
    session: Session, occurrence: Occurrence, *, meeting_url: str, cancel_urls: dict[int, str]
) -> int:
    """Tell everyone signed up that the meeting moved or was cancelled, with the new .ics.

    One message per language, each rendered once. The attachment keeps the UID and
    carries the raised SEQUENCE, so a calendar program that imported the confirmation
    updates (or cancels) the same event.
    """
    registrations = occurrence.confirmed_registrations
    if not registrations:
        return 0
    cancelled = occurrence.is_cancelled
    reason = _("anmäld till mötet")
    queued = 0
    for language in MAIL_LANGUAGES:
        readers = [reg for reg in registrations if mail_language(reg.language) == language]
        if not readers:
            continue
        page_url = localised_url(meeting_url, language)
        with force_locale(language):
            context = {
                "lang": language,
                "occ": occurrence,
                "series": occurrence.series,
                "when": when(occurrence),
                "cancelled": cancelled,
                "meeting_url": page_url,
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
                attachments=[_ics_attachment(occurrence, page_url)],
                source_type="occurrence",
                source_id=occurrence.id,
            )
        queued += enqueue(
            session,
            message,
            [
                Addressee(
                    email=reg.email,
                    personalisation={
                        "cancel_url": localised_url(cancel_urls.get(reg.id, meeting_url), language),
                    },
                    reason=reason,
                )
                for reg in readers
            ],
        )
    return queued
