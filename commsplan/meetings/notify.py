"""Mail from meetings: the registration confirmation and its updates as iMIP invitations.

The confirmation carries the meeting as an iTIP REQUEST naming the person who signed up
as attendee, so calendar programs add it as an invitation; a move is a REQUEST with the
raised SEQUENCE and a cancellation a CANCEL of the same UID, so the event in their
calendar follows (one mail per person: the attachment names its reader).

Goes through the durable outbox (``delivery.enqueue``) in the same transaction as the
registration, so a sign-up and its confirmation are stored together or not at all. Each
mail is in the language the person chose when signing up.
"""

from __future__ import annotations

from datetime import datetime

from babel.dates import format_datetime
from flask import current_app, render_template
from flask_babel import force_locale, format_date, format_time, get_locale
from flask_babel import gettext as _
from icalendar import Calendar
from icalendar.enums import STATUS
from sqlalchemy.orm import Session

from commsplan.delivery.models import OutgoingMessage
from commsplan.delivery.services import Addressee, enqueue
from commsplan.feeds import ical
from commsplan.languages import MAIL_LANGUAGES, localised_url, mail_language
from commsplan.meetings.models import Occurrence, Registration
from commsplan.meetings.services import agenda_numbers, agenda_with_times
from commsplan.notices.markup import markdown_to_text, render_markdown
from commsplan.timeutil import STOCKHOLM, utcnow

# Clock times as each language writes them.
_TIME_PATTERNS = {"sv": "HH.mm", "en": "HH:mm"}
# A day and a start in a sentence: "3 mars kl. 13.00", "3 March at 13:00".
_MOMENT_PATTERNS = {"sv": "d MMMM 'kl.' HH.mm", "en": "d MMMM 'at' HH:mm"}
_MOMENT_YEAR_PATTERNS = {"sv": "d MMMM y 'kl.' HH.mm", "en": "d MMMM y 'at' HH:mm"}


def occurrence_ics(
    occurrence: Occurrence, registration: Registration, url: str | None = None, *, withdrawn: bool = False
) -> Calendar:
    """The occurrence as an iMIP REQUEST to the person signed up, or a CANCEL once it is
    cancelled or they ``withdrawn`` their sign-up, for a mail attachment."""
    cancelled = occurrence.is_cancelled or withdrawn
    event = ical.occurrence_to_event(
        occurrence,
        stamp=utcnow(),
        url=url,
        # The address only: the name was typed by whoever signed up, and it never goes
        # into mail (see the sign-up rules in README).
        attendees=[ical.Person(registration.email, "")],
        fallback_organiser=ical.sender_person(current_app.config["MAIL_DEFAULT_SENDER"]),
    )
    if cancelled:
        event.status = STATUS.CANCELLED
        event.sequence = occurrence.sequence + 1 if withdrawn else occurrence.sequence
    method = ical.Method.cancel if cancelled else ical.Method.request
    return ical.calendar_of(occurrence.series.title, [event], method)


def _time_pattern() -> str:
    locale = get_locale()
    return _TIME_PATTERNS[mail_language(locale.language if locale else None)]


def when(occurrence: Occurrence) -> str:
    """Day and time span in the current locale ("onsdag 6 mars 2024 09.00–10.30")."""
    return when_between(occurrence.start, occurrence.end)


def when_between(start: datetime, end: datetime) -> str:
    start, end = start.astimezone(STOCKHOLM), end.astimezone(STOCKHOLM)
    pattern = _time_pattern()
    return f"{format_date(start, 'EEEE d MMMM y')} {format_time(start, pattern)}–{format_time(end, pattern)}"


def _language() -> str:
    locale = get_locale()
    return mail_language(locale.language if locale else None)


def moved_sentence(before: datetime, after: datetime) -> str:
    """ "Mötet 3 mars kl. 13.00 är flyttat till 5 mars kl. 10.00." in the current locale;
    the year is named only when the move crosses a new year."""
    language = _language()
    crosses = before.astimezone(STOCKHOLM).year != after.astimezone(STOCKHOLM).year
    pattern = (_MOMENT_YEAR_PATTERNS if crosses else _MOMENT_PATTERNS)[language]
    return _(
        "Mötet %(before)s är flyttat till %(after)s.",
        before=format_datetime(before, pattern, tzinfo=STOCKHOLM, locale=language),
        after=format_datetime(after, pattern, tzinfo=STOCKHOLM, locale=language),
    )


def short_when(occurrence: Occurrence) -> str:
    """Date and start for a subject line: "2024-03-06 09.00" ("09:00" in English)."""
    start = occurrence.start.astimezone(STOCKHOLM)
    return f"{start:%Y-%m-%d} {format_time(start, _time_pattern())}"


def _ics_attachment(occurrence: Occurrence, registration: Registration, meeting_url: str) -> dict[str, str]:
    """The meeting as an iMIP invitation (or cancellation) to one person who signed up."""
    return ical.mail_attachment(occurrence_ics(occurrence, registration, meeting_url), "mote.ics")


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
            "notes_html": render_markdown(occurrence.practical_notes) if occurrence.practical_notes else "",
            "notes_text": markdown_to_text(occurrence.practical_notes),
        }
        message = OutgoingMessage(
            kind="registration",
            subject=_(
                "Anmälan bekräftad: %(title)s %(day)s", title=occurrence.series.title, day=context["when"]
            ),
            text_body=render_template("email/meetings/registration_confirmation.txt", **context),
            html_body=render_template("email/meetings/registration_confirmation.html", **context),
            headers={},
            attachments=[_ics_attachment(occurrence, registration, meeting_url)],
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
    session: Session,
    occurrence: Occurrence,
    *,
    meeting_url: str,
    cancel_urls: dict[int, str],
    previous: tuple[datetime, datetime] | None = None,
) -> int:
    """Tell everyone signed up that the meeting moved or was cancelled, with the new .ics.

    One mail per person: the attachment is an iMIP REQUEST (or CANCEL) naming them as
    attendee, with the confirmation's UID and the raised SEQUENCE, so their calendar
    program updates (or removes) the event it added from the confirmation.
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
                # Which date moved from what to what (``previous``: the old start, end); a
                # change of the end only is told as the old and new time spans.
                "moved": moved_sentence(previous[0], occurrence.start)
                if previous and not cancelled and previous[0] != occurrence.start
                else "",
                "moved_from": when_between(*previous)
                if previous and not cancelled and previous != (occurrence.start, occurrence.end)
                else "",
            }
            subject = (
                _("Inställt: %(title)s %(day)s", title=occurrence.series.title, day=context["when"])
                if cancelled
                else _("Ändrad tid: %(title)s %(day)s", title=occurrence.series.title, day=context["when"])
            )
            text_body = render_template("email/meetings/registration_update.txt", **context)
            html_body = render_template("email/meetings/registration_update.html", **context)
            for reg in readers:
                message = OutgoingMessage(
                    kind="registration_update",
                    subject=subject,
                    text_body=text_body,
                    html_body=html_body,
                    headers={},
                    attachments=[_ics_attachment(occurrence, reg, page_url)],
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
                    ],
                )
    return queued


def queue_withdrawal(session: Session, registration: Registration, *, meeting_url: str) -> int:
    """Confirm that someone cancelled their sign-up, with an iMIP CANCEL so the event the
    confirmation put in their calendar goes away; the caller commits."""
    occurrence = registration.occurrence
    language = mail_language(registration.language)
    meeting_url = localised_url(meeting_url, language)
    with force_locale(language):
        context = {
            "lang": language,
            "registration": registration,
            "occ": occurrence,
            "series": occurrence.series,
            "when": when(occurrence),
            "meeting_url": meeting_url,
        }
        calendar = occurrence_ics(occurrence, registration, meeting_url, withdrawn=True)
        message = OutgoingMessage(
            kind="registration_withdrawn",
            subject=_("Avanmäld: %(title)s %(day)s", title=occurrence.series.title, day=context["when"]),
            text_body=render_template("email/meetings/registration_withdrawn.txt", **context),
            html_body=render_template("email/meetings/registration_withdrawn.html", **context),
            headers={},
            attachments=[ical.mail_attachment(calendar, "mote.ics")],
            source_type="occurrence",
            source_id=occurrence.id,
        )
        reason = _("avanmälan från möte")
    return enqueue(session, message, [Addressee(email=registration.email, reason=reason)])
