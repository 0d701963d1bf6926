"""Notice mail: rendered once per message from templates, personalised by the sender.

Every recipient gets their own copy with its own ``Message-ID`` (chosen by the outbox).
Threading uses a stable per-notice root id in ``References`` (and ``In-Reply-To`` for
everything after the first mail): mail clients group on it even though no mail carries
it as its own ``Message-ID``.
"""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urlsplit

from babel.dates import format_date, format_datetime
from flask import current_app
from flask_babel import force_locale

from commsplan.delivery.models import OutgoingMessage
from commsplan.notices.labels import (
    KIND_LABELS,
    OUTAGE_STATE_LABELS,
    SEVERITY_LABELS,
    SUBJECT_PREFIXES,
    UPDATE_LABELS,
)
from commsplan.notices.markup import render_markdown
from commsplan.notices.models import Notice, NoticeUpdate, UpdateKind
from commsplan.timeutil import STOCKHOLM

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def one_line(text: str) -> str:
    """Collapse line breaks and control characters: a title can never start a new header."""
    return " ".join(_CONTROL.sub(" ", text or "").split())


def format_local(value: datetime | None) -> str:
    if value is None:
        return ""
    return format_datetime(value, "EEEE d MMMM y 'kl.' HH:mm", tzinfo=STOCKHOLM, locale="sv")


def thread_id(notice: Notice) -> str:
    host = urlsplit(current_app.config["BASE_URL"]).hostname or "commsplan.invalid"
    return f"<notice-{notice.uid}@{host}>"


def subject_for(notice: Notice, event: UpdateKind) -> str:
    base = f"{KIND_LABELS[notice.kind]}: {one_line(notice.title)}"
    prefix = SUBJECT_PREFIXES.get(event)
    return one_line(f"{prefix} – {base}" if prefix else base)


def notice_url(notice: Notice) -> str:
    return f"{current_app.config['BASE_URL']}/status/{notice.uid}"


def build_message(notice: Notice, event: UpdateKind, update: NoticeUpdate | None) -> OutgoingMessage:
    """The mail for ``event`` on ``notice``; ``%%preferences_url%%`` (and the one-click
    ``unsubscribe_url`` of the List-Unsubscribe header) are filled in per recipient."""
    root = thread_id(notice)
    headers = {"References": root}
    if event is not UpdateKind.published:
        headers["In-Reply-To"] = root
    context = {
        "notice": notice,
        "event": event,
        "update": update,
        "kind_label": str(KIND_LABELS[notice.kind]),
        "event_label": str(UPDATE_LABELS[event]),
        "severity_label": str(SEVERITY_LABELS[notice.severity]) if notice.severity else "",
        "state_label": str(OUTAGE_STATE_LABELS[notice.outage_state]) if notice.outage_state else "",
        "title": one_line(notice.title),
        "body_html": render_markdown(notice.body_markdown),
        "update_html": render_markdown(update.body_markdown) if update and update.body_markdown else "",
        "release_day": format_date(notice.release_date, "d MMMM y", locale="sv")
        if notice.release_date
        else "",
        "starts": format_local(notice.starts_at),
        "ends": format_local(notice.ends_at),
        "url": notice_url(notice),
        "status_url": f"{current_app.config['BASE_URL']}/status",
        "services": ", ".join(s.name for s in notice.services),
        "systems": ", ".join(s.name for s in notice.systems),
        "preferences_url": "%%preferences_url%%",
    }
    # Straight from the Jinja environment: mail is rendered by the worker and the CLI too,
    # outside any request, so the page context processors (CSRF forms …) must not run.
    env = current_app.jinja_env
    with force_locale("sv"):
        subject = subject_for(notice, event)
        text_body = env.get_template("email/notices/notice.txt").render(**context)
        html_body = env.get_template("email/notices/notice.html").render(**context)
    return OutgoingMessage(
        kind="notice" if event is UpdateKind.published else "notice_update",
        subject=subject,
        text_body=text_body,
        html_body=html_body,
        headers=headers,
        attachments=[],
        source_type="notice",
        source_id=notice.id,
    )
