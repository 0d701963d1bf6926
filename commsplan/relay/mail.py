"""Reading a received mail: the text a person would read (plain or HTML, any charset),
the forwarded message inside it, and delivery status notifications (RFC 3464).

Pure functions on bytes; nothing here touches the database.
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage, Message
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser

# A forwarded mail pasted into the body, as Gmail, Outlook and Swedish clients write it.
_FORWARD_MARKER = re.compile(
    r"^-{2,}\s*(?:Vidarebefordrat meddelande|Forwarded message|Ursprungligt meddelande|"
    r"Original Message)\s*-{2,}\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_FORWARD_HEADER = re.compile(r"^(Från|From|Datum|Date|Skickat|Sent|Ämne|Subject|Till|To|Kopia|Cc):\s*(.*)$")
_SUBJECT_PREFIX = re.compile(r"^\s*(?:(?:VB|FW|Fwd|Fw|SV|Re|AW|WG)\s*:\s*)+", re.IGNORECASE)
_BLOCK_TAGS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol"}


@dataclass(frozen=True)
class Bounce:
    """One failed recipient of a DSN and the Message-IDs of the mail it returns."""

    recipient: str  # lower case
    status: str
    diagnostic: str
    message_ids: tuple[str, ...]


@dataclass(frozen=True)
class ReceivedMail:
    message_id: str
    subject: str
    body: str
    received_at: datetime | None
    bounces: tuple[Bounce, ...] = field(default_factory=tuple)

    @property
    def is_report(self) -> bool:
        return bool(self.bounces)


class _TextExtractor(HTMLParser):
    """HTML to readable text: blocks become lines, scripts and styles vanish."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head"):
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return tidy("".join(parser.parts))


def tidy(text: str) -> str:
    """Collapse runs of spaces and blank lines; keep paragraphs."""
    lines = [" ".join(line.split()) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip().replace("\x00", "")


def clean_subject(subject: str) -> str:
    return " ".join(_SUBJECT_PREFIX.sub("", subject or "").split())


def _part_text(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
    except (LookupError, UnicodeError, KeyError):
        # An unknown or wrong charset: Latin-1 never fails and is the usual culprit.
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("latin-1", errors="replace") if isinstance(payload, bytes) else str(payload)
    if isinstance(content, bytes):
        content = content.decode("latin-1", errors="replace")
    return str(content)


def _readable_text(message: EmailMessage) -> str:
    """The plain-text body, or the HTML one as text; attachments are not read."""
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        return ""
    text = _part_text(body)
    if body.get_content_subtype() == "html":
        return html_to_text(text)
    return tidy(text)


def _attached_message(message: EmailMessage) -> EmailMessage | None:
    for part in message.walk():
        if part.get_content_type() == "message/rfc822":
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else payload
            if isinstance(inner, EmailMessage):
                return inner
    return None


def _inline_forward(subject: str, body: str) -> tuple[str, str]:
    """A forwarded block in the text: its Ämne/Subject and what follows its headers."""
    match = _FORWARD_MARKER.search(body)
    if match is None:
        return subject, body
    lines = body[match.end() :].lstrip("\n").split("\n")
    inner_subject = subject
    index = 0
    while index < len(lines):
        header = _FORWARD_HEADER.match(lines[index].strip())
        if header is None:
            break
        if header.group(1) in ("Ämne", "Subject"):
            inner_subject = header.group(2)
        index += 1
    return clean_subject(inner_subject), tidy("\n".join(lines[index:]))


def _date(message: Message) -> datetime | None:
    value = message.get("Date")
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, IndexError):  # a header the parser cannot decode
        return ""
    return " ".join(str(value or "").split())


_MESSAGE_ID = re.compile(r"<[^<>\s]+>")


def _returned_message_ids(report: EmailMessage) -> tuple[str, ...]:
    """Message-IDs in the returned mail or headers of a report (message/rfc822 or
    text/rfc822-headers)."""
    found: list[str] = []
    for part in report.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else payload
            if isinstance(inner, Message):
                found += _MESSAGE_ID.findall(_header(inner, "Message-ID"))
        elif kind == "text/rfc822-headers":
            headers = email.message_from_string(_part_text(part), policy=policy.default)
            found += _MESSAGE_ID.findall(_header(headers, "Message-ID"))
    return tuple(dict.fromkeys(found))


def _bounces(report: EmailMessage) -> tuple[Bounce, ...]:
    ids = _returned_message_ids(report)
    bounces: list[Bounce] = []
    for part in report.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        if not isinstance(blocks, list):
            continue
        # The first block describes the reporting server, the others one recipient each.
        for block in blocks[1:]:
            action = _header(block, "Action").lower()
            if action != "failed":
                continue
            recipient = _header(block, "Final-Recipient") or _header(block, "Original-Recipient")
            address = recipient.split(";", 1)[-1].strip().strip("<>").lower()
            if address:
                bounces.append(
                    Bounce(address, _header(block, "Status"), _header(block, "Diagnostic-Code"), ids)
                )
    return tuple(bounces)


def is_delivery_report(message: Message) -> bool:
    return message.get_content_type() == "multipart/report" and (
        (message.get_param("report-type") or "").lower() == "delivery-status"
    )


def parse_mail(raw: bytes) -> ReceivedMail:
    """What commsplan reads from one received mail (RFC 822 bytes)."""
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    message_id = (_MESSAGE_ID.findall(_header(message, "Message-ID")) or [""])[0]
    subject = clean_subject(_header(message, "Subject"))
    received_at = _date(message)
    if is_delivery_report(message):
        return ReceivedMail(message_id, subject, _readable_text(message), received_at, _bounces(message))
    inner = _attached_message(message)
    if inner is not None:
        return ReceivedMail(
            message_id,
            clean_subject(_header(inner, "Subject")) or subject,
            _readable_text(inner),
            _date(inner) or received_at,
        )
    body = _readable_text(message)
    subject, body = _inline_forward(subject, body)
    return ReceivedMail(message_id, subject, body, received_at)


def looks_like_mail(text: str) -> bool:
    """Whether pasted text is a raw RFC 822 message (headers, a blank line, a body)."""
    # A browser sends a textarea's line breaks as CRLF.
    head = text.replace("\r\n", "\n").lstrip().split("\n\n", 1)[0].split("\n")
    return (
        bool(head)
        and all(re.match(r"^[A-Za-z0-9-]+:|^[ \t]", line) for line in head if line.strip())
        and any(line.lower().startswith(("subject:", "from:", "message-id:")) for line in head)
    )
