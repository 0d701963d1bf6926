"""Notice mail: rendered once per message from templates, personalised by the sender.

Every recipient gets their own copy with its own ``Message-ID`` (chosen by the outbox).
Threading: every mail about one notice has the same subject stem ("Driftstörning:
<title>"), later ones behind the kind of update in brackets ("[Uppdatering] …"), and
each later mail to a recipient names the ``Message-ID`` of the first mail that recipient
got about the notice in ``References`` and ``In-Reply-To`` (filled in per recipient,
``%%thread_root%%``): Gmail threads only on a References id it has seen.
``Thread-Topic`` carries the stem for Outlook's conversations.
"""

from __future__ import annotations

import re
from datetime import datetime

from babel.dates import format_date, format_datetime
from flask import current_app
from flask_babel import force_locale

from commsplan.delivery.models import OutgoingMessage
from commsplan.feeds import ical
from commsplan.languages import DEFAULT_LANGUAGE, localised_url, mail_language
from commsplan.notices.labels import (
    KIND_LABELS,
    OUTAGE_STATE_LABELS,
    SEVERITY_LABELS,
    SUBJECT_PREFIXES,
    UPDATE_LABELS,
)
from commsplan.notices.markup import render_markdown
from commsplan.notices.models import Notice, NoticeKind, NoticeStatus, NoticeUpdate, UpdateKind
from commsplan.timeutil import STOCKHOLM

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def one_line(text: str) -> str:
    """Collapse line breaks and control characters: a title can never start a new header."""
    return " ".join(_CONTROL.sub(" ", text or "").split())


# Dates as a reader of each language writes them.
_DATETIME_PATTERNS = {"sv": "EEEE d MMMM y 'kl.' HH:mm", "en": "EEEE d MMMM y 'at' HH:mm"}
_DATE_PATTERN = "d MMMM y"


def format_local(value: datetime | None, language: str = DEFAULT_LANGUAGE) -> str:
    if value is None:
        return ""
    pattern = _DATETIME_PATTERNS.get(language, _DATETIME_PATTERNS[DEFAULT_LANGUAGE])
    return format_datetime(value, pattern, tzinfo=STOCKHOLM, locale=language)


def title_in(notice: Notice, language: str) -> str:
    """The coordinator's title as written, or its English version for English readers."""
    if language == "en" and notice.title_en.strip():
        return one_line(notice.title_en)
    return one_line(notice.title)


def body_in(notice: Notice, language: str) -> str:
    if language == "en" and notice.body_markdown_en.strip():
        return notice.body_markdown_en
    return notice.body_markdown


def subject_stem(notice: Notice, language: str = DEFAULT_LANGUAGE) -> str:
    """``<kind>: <title>``, the same in every mail about the notice; a title that already
    starts with the kind ("Release 2.3 av …") is not prefixed with it a second time."""
    title = title_in(notice, language)
    kind = str(KIND_LABELS[notice.kind])
    return one_line(title if title.lower().startswith(kind.lower()) else f"{kind}: {title}")


def subject_for(notice: Notice, event: UpdateKind, language: str = DEFAULT_LANGUAGE) -> str:
    """``[<kind of update>] <stem>``, in the current locale; the first mail is the stem alone.

    The kind of update goes in a leading bracket because that is the one change to a
    subject both big clients group through: Gmail ignores a leading ``[…]`` and ``Re:``
    when it matches subjects, and Outlook files the mail under its ``Thread-Topic`` (the
    stem). A dash prefix or a trailing addition makes Gmail start a new conversation.
    Sources in docs/notices-and-api.md."""
    base = subject_stem(notice, language)
    prefix = SUBJECT_PREFIXES.get(event)
    return one_line(f"[{prefix}] {base}" if prefix else base)


def notice_url(notice: Notice) -> str:
    return f"{current_app.config['BASE_URL']}/status/{notice.uid}"


def window_attachment(
    notice: Notice, event: UpdateKind, language: str = DEFAULT_LANGUAGE
) -> dict[str, str] | None:
    """The service window as a calendar file (METHOD:PUBLISH) in every mail about it; the
    stable UID and raised SEQUENCE let a calendar that imported it update or cancel it."""
    if notice.kind is not NoticeKind.service_window:
        return None
    cancelled = event is UpdateKind.cancelled or notice.status is NoticeStatus.cancelled
    vevent = ical.notice_to_event(
        notice,
        cancelled=cancelled,
        kind=ical.NoticeCalendarKind.service_window.value,
        url=localised_url(notice_url(notice), language),
        title=title_in(notice, language),
        description=body_in(notice, language),
    )
    if vevent is None:
        return None
    calendar = ical.calendar_of(str(KIND_LABELS[notice.kind]), [vevent], ical.Method.publish)
    return ical.mail_attachment(calendar, "servicefonster.ics")


def build_message(
    notice: Notice,
    event: UpdateKind,
    update: NoticeUpdate | None,
    language: str = DEFAULT_LANGUAGE,
    wording: str = "",
) -> OutgoingMessage:
    """The mail for ``event`` on ``notice`` in ``language``, led by ``wording`` (the core
    message for the readers' stakeholder group, as the coordinator wrote it; "" for none);
    rendered once for all its readers, ``%%preferences_url%%`` (and the one-click ``unsubscribe_url`` of the
    List-Unsubscribe header) are filled in per recipient."""
    language = mail_language(language)
    headers = {"References": "%%thread_root%%", "In-Reply-To": "%%thread_root%%"}
    # Straight from the Jinja environment: mail is rendered by the worker and the CLI too,
    # outside any request, so the page context processors (CSRF forms …) must not run.
    env = current_app.jinja_env
    with force_locale(language):
        context = {
            "lang": language,
            "notice": notice,
            "event": event,
            "update": update,
            "kind_label": str(KIND_LABELS[notice.kind]),
            "event_label": str(UPDATE_LABELS[event]),
            "severity_label": str(SEVERITY_LABELS[notice.severity]) if notice.severity else "",
            "state_label": str(OUTAGE_STATE_LABELS[notice.outage_state]) if notice.outage_state else "",
            "title": title_in(notice, language),
            "body": body_in(notice, language),
            "body_html": render_markdown(body_in(notice, language)),
            "update_html": render_markdown(update.body_markdown) if update and update.body_markdown else "",
            "release_day": format_date(notice.release_date, _DATE_PATTERN, locale=language)
            if notice.release_date
            else "",
            "starts": format_local(notice.starts_at, language),
            "ends": format_local(notice.ends_at, language),
            "url": localised_url(notice_url(notice), language),
            "status_url": localised_url(f"{current_app.config['BASE_URL']}/status", language),
            "services": ", ".join(s.name for s in notice.services),
            "systems": ", ".join(s.name for s in notice.systems),
            "preferences_url": "%%preferences_url%%",
            "wording": wording.strip(),
        }
        subject = subject_for(notice, event, language)
        headers["Thread-Topic"] = subject_stem(notice, language)
        text_body = env.get_template("email/notices/notice.txt").render(**context)
        html_body = env.get_template("email/notices/notice.html").render(**context)
        attachment = window_attachment(notice, event, language)
    return OutgoingMessage(
        kind="notice" if event is UpdateKind.published else "notice_update",
        subject=subject,
        text_body=text_body,
        html_body=html_body,
        headers=headers,
        attachments=[attachment] if attachment else [],
        source_type="notice",
        source_id=notice.id,
    )
