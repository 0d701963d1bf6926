"""Reading a feed: Atom and RSS 2.0 (feedparser), iCalendar (icalendar) and JSON Feed,
fetched with a conditional GET and a time-out. Anything wrong is a ``SourceError``."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
import xml.sax
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from email.utils import parsedate_to_datetime
from typing import Any

import feedparser
import icalendar
from flask_babel import gettext as _

from commsplan.relay.entries import Entry, SourceError
from commsplan.relay.mail import html_to_text, tidy
from commsplan.timeutil import STOCKHOLM

MAX_BYTES = 5 * 1024 * 1024
USER_AGENT = "commsplan-relay/1"


@dataclass(frozen=True)
class FeedResponse:
    not_modified: bool
    entries: list[Entry]
    etag: str = ""
    last_modified: str = ""


def fetch(url: str, *, etag: str = "", last_modified: str = "", timeout: float = 10.0) -> FeedResponse:
    """GET ``url`` (sending the validators of the last response) and parse what came."""
    if not url.lower().startswith(("http://", "https://")):
        raise SourceError(_("Flödets adress måste börja med http:// eller https://."))
    headers = {"User-Agent": USER_AGENT, "Accept": "application/atom+xml, application/rss+xml, */*"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - http(s) checked above
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) checked above
            body = response.read(MAX_BYTES + 1)
            new_etag = response.headers.get("ETag", "") or ""
            new_modified = response.headers.get("Last-Modified", "") or ""
            content_type = response.headers.get("Content-Type", "") or ""
    except urllib.error.HTTPError as error:
        if error.code == 304:
            return FeedResponse(True, [], etag, last_modified)
        raise SourceError(_("Servern svarade HTTP %(code)s.", code=error.code)) from error
    except TimeoutError as error:
        raise SourceError(_("Inget svar inom %(seconds)s sekunder.", seconds=f"{timeout:g}")) from error
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        if isinstance(reason, TimeoutError | socket.timeout):
            raise SourceError(_("Inget svar inom %(seconds)s sekunder.", seconds=f"{timeout:g}")) from error
        raise SourceError(_("Kunde inte hämta flödet: %(reason)s", reason=reason)) from error
    if len(body) > MAX_BYTES:
        raise SourceError(_("Flödet är större än 5 MB."))
    return FeedResponse(False, parse(body, content_type), new_etag[:500], new_modified[:100])


def parse(body: bytes, content_type: str = "") -> list[Entry]:
    start = body.lstrip()[:20]
    if "json" in content_type or start.startswith(b"{"):
        return _json_feed(body)
    if "calendar" in content_type or start.upper().startswith(b"BEGIN:VCALENDAR"):
        return _calendar(body)
    return _xml_feed(body)


def _aware(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=STOCKHOLM)).astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=STOCKHOLM).astimezone(UTC)
    return None


def _text(value: str, html: bool) -> str:
    return html_to_text(value) if html else tidy(value)


def _xml_feed(body: bytes) -> list[Entry]:
    parsed = feedparser.parse(body)
    problem = parsed.get("bozo_exception")
    if parsed.get("bozo") and isinstance(problem, xml.sax.SAXException | feedparser.NonXMLContentType):
        raise SourceError(_("Flödet är inte giltig XML: %(problem)s", problem=problem))
    if not parsed.get("version") and not parsed.entries:
        raise SourceError(_("Svaret är varken Atom, RSS, iCalendar eller JSON Feed."))
    entries = []
    for item in parsed.entries:
        content = item.get("content") or []
        if content:
            raw, kind = content[0].get("value", ""), content[0].get("type", "")
        else:
            raw = item.get("summary", "")
            kind = (item.get("summary_detail") or {}).get("type", "text/html")
        stamp = item.get("updated_parsed") or item.get("published_parsed")
        external = item.get("id") or item.get("link") or item.get("title", "")
        if not external:
            continue
        entries.append(
            Entry(
                external_id=str(external)[:500],
                subject=tidy(html_to_text(item.get("title", ""))),
                body=_text(raw, "html" in kind),
                link=str(item.get("link", ""))[:2000],
                received_at=datetime(*stamp[:6], tzinfo=UTC) if stamp else None,
            )
        )
    return entries


def _calendar(body: bytes) -> list[Entry]:
    try:
        calendar = icalendar.Calendar.from_ical(body)
    except (ValueError, IndexError, KeyError) as error:
        raise SourceError(_("Kalendern kunde inte läsas: %(problem)s", problem=error)) from error
    entries = []
    for event in calendar.walk("VEVENT"):
        uid = str(event.get("UID", "")).strip()
        if not uid:
            continue
        start = event.get("DTSTART")
        end = event.get("DTEND")
        stamp = event.get("LAST-MODIFIED") or event.get("DTSTAMP")
        entries.append(
            Entry(
                external_id=uid[:500],
                subject=tidy(str(event.get("SUMMARY", ""))),
                body=tidy(str(event.get("DESCRIPTION", ""))),
                link=str(event.get("URL", ""))[:2000],
                received_at=_aware(stamp.dt) if stamp is not None else None,
                starts_at=_aware(start.dt) if start is not None else None,
                ends_at=_aware(end.dt) if end is not None else None,
            )
        )
    return entries


def _json_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return _aware(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        try:
            return _aware(parsedate_to_datetime(value))
        except (TypeError, ValueError):
            return None


def _json_feed(body: bytes) -> list[Entry]:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise SourceError(_("Flödet är inte giltig JSON: %(problem)s", problem=error)) from error
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        raise SourceError(_("JSON-flödet saknar listan items."))
    entries = []
    for item in document["items"]:
        if not isinstance(item, dict) or not item.get("id"):
            continue
        html = item.get("content_html")
        text = item.get("content_text")
        entries.append(
            Entry(
                external_id=str(item["id"])[:500],
                subject=tidy(str(item.get("title", ""))),
                body=tidy(str(text)) if isinstance(text, str) else html_to_text(str(html or "")),
                link=str(item.get("url", ""))[:2000],
                received_at=_json_time(item.get("date_modified") or item.get("date_published")),
            )
        )
    return entries
