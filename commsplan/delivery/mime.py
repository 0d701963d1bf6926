"""Render a message once, personalise it per recipient cheaply.

Building a mail with ``email.message`` costs milliseconds; a notice to ten thousand
people must not pay that ten thousand times. ``MessageTemplate.build`` serialises the
MIME body once (8bit UTF-8, CRLF, lines well under the 998-byte limit), and
``MessageTemplate.render`` only prepends the recipient's headers and substitutes the
``%%key%%`` markers in the bytes. Values put into the HTML part are HTML-escaped;
values put into headers are folded by the ``email`` package and can never start a new
header. Whenever the fast path cannot guarantee a valid message (a line would grow past
the limit, a value could collide with the MIME boundary) the recipient's mail is built
in full by ``render_full``, which is also the reference the tests compare against.
"""

from __future__ import annotations

import html
import re
import time
from base64 import b64encode
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy as email_policy
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache
from typing import Any

POLICY = email_policy.SMTP  # CRLF line endings, 8bit bodies allowed
MAX_LINE = 998  # RFC 5322 hard limit, without CRLF
# Long template lines are broken at a space below this, leaving room for substitutions.
WRAP_AT = 800

_MARKER = re.compile(rb"%%(h:)?([A-Za-z0-9_]+)%%")
_TEXT_MARKER = re.compile(r"%%([A-Za-z0-9_]+)%%")
_ENVELOPE_ADDRESS = re.compile(r"^[!#-'*+\-/-9=?A-Z^-~.]+@[A-Za-z0-9.\-]+$")
_LEADING_DOT = re.compile(rb"(?m)^\.")
_DOT_AFTER_LINE_BREAK = re.compile(rb"\n\.")
# email.utils.formataddr quotes a display name with one of these (its ``specialsre``).
_NEEDS_QUOTES = re.compile(r'[][\\()<>@,:;".]')
_HEADER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,60}$")
# Headers the sender owns; a message cannot override them through ``headers``.
RESERVED_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "content-disposition",
        "list-unsubscribe",
        "list-unsubscribe-post",
        "sender",
        "return-path",
        "auto-submitted",
        "precedence",
        "list-id",
    }
)
# Characters that may appear in a List-Unsubscribe URL between < and >.
_URL_SAFE = re.compile(r"^https?://[!#$%&'()*+,\-./0-9:;=?@A-Z\[\]_a-z~]+$")


@lru_cache(maxsize=2)
def _date_line(second: int) -> bytes:
    # RFC 5322 §3.3: a numeric zone ("+0000"); "GMT" is the obsolete form.
    stamp = format_datetime(datetime.fromtimestamp(second, UTC))
    return b"Date: " + stamp.encode("ascii") + b"\r\n"


@lru_cache(maxsize=16)  # pure in the sender; folding it per recipient showed in profiles
def bulk_lines(envelope_from: str) -> bytes:
    """Headers that mark every message as sent by the app, not by a person (RFC 3834,
    RFC 2919): out-of-office and other auto-replies are then not sent back, and clients
    can filter the list."""
    domain = envelope_from.rpartition("@")[2] or "localhost"
    return (
        b"Auto-Submitted: auto-generated\r\n"
        b"Precedence: bulk\r\n"
        b"List-Id: "
        + fold_header("List-Id", f"Kommunikationsplan 1177 <commsplan.{domain}>").split(b": ", 1)[1]
    )


def dot_stuffed(data: bytes) -> bytes:
    """A mail as SMTP's DATA carries it, with its final dot (RFC 5321 §4.5.2 transparency)."""
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    if data.startswith(b".") or _DOT_AFTER_LINE_BREAK.search(data):  # faster than ``b"\n." in data``
        data = _LEADING_DOT.sub(b"..", data)
    return data + b".\r\n"


def single_line(value: str) -> str:
    """Collapse every kind of line break into a space: header values stay one header."""
    return " ".join(value.splitlines())


def check_header_name(name: str) -> None:
    if not _HEADER_NAME.match(name) or name.lower() in RESERVED_HEADERS:
        raise ValueError(f"header {name!r} may not be set on an outgoing message")


def fold_header(name: str, value: str) -> bytes:
    """``Name: value`` CRLF-terminated, RFC 2047-encoded where it is not plain ASCII.

    ASCII values are folded by the email package at their spaces (unfolding gives the
    space back). Anything else is written as UTF-8 base64 encoded words by
    ``encoded_words``, never by ``email.header``: its folder can put a space of the
    text as the only white space between two encoded words, which decoders drop
    ("servicefönster:Servicefönster"), and makes 76-character words.
    """
    text = single_line(value)
    if text.isascii() and "=?" not in text:
        folded = POLICY.header_factory(name, text).fold(policy=POLICY)
        return folded.encode("ascii")
    words = encoded_words(text, first=MAX_ENCODED_LINE - len(name) - 2)
    return (f"{name}: " + "\r\n ".join(words) + "\r\n").encode("ascii")


# RFC 2047 §2: an encoded word is at most 75 characters, a line holding one at most 76.
MAX_ENCODED_WORD = 75
MAX_ENCODED_LINE = 76
_WORD_OVERHEAD = len("=?utf-8?b??=")


def _b64_length(size: int) -> int:
    return 4 * ((size + 2) // 3)


def encoded_words(text: str, *, first: int = MAX_ENCODED_WORD) -> list[str]:
    """``text`` as UTF-8 base64 encoded words of whole characters, the first at most
    ``first`` characters long and the others at most 75.

    Every character of the text, spaces included, is inside a word, so the white space
    between words is only folding, which RFC 2047 decoders remove: decoding the words
    gives back exactly ``text``.
    """
    words: list[str] = []
    limit = min(first, MAX_ENCODED_WORD)
    chunk = b""
    for char in text:
        raw = char.encode("utf-8")
        if chunk and _WORD_OVERHEAD + _b64_length(len(chunk) + len(raw)) > limit:
            words.append("=?utf-8?b?" + b64encode(chunk).decode("ascii") + "?=")
            chunk, limit = b"", MAX_ENCODED_WORD
        chunk += raw
    if chunk or not words:
        words.append("=?utf-8?b?" + b64encode(chunk).decode("ascii") + "?=")
    return words


def address_header(name: str, address: str, header: str = "To") -> bytes:
    """A cheap ``To:`` line; the display name can never break out of the header."""
    display = single_line(name).strip()
    if not display:
        return f"{header}: {address}\r\n".encode("ascii")
    if display.isascii():
        if not _NEEDS_QUOTES.search(display):  # what formataddr would write, without its cost
            return f"{header}: {display} <{address}>\r\n".encode("ascii")
        return f"{header}: {formataddr((display, address))}\r\n".encode("ascii")
    raw = display.encode("utf-8")
    if len(raw) <= 45:
        # One base64 encoded word stays within RFC 2047's 75 characters up to 45 bytes;
        # built by hand because email.charset measures q- and b-encoding char by char.
        return b"%s: =?utf-8?b?%s?= <%s>\r\n" % (
            header.encode("ascii"),
            b64encode(raw),
            address.encode("ascii"),
        )
    encoded = Header(display, "utf-8", header_name=header).encode(linesep="\r\n")
    return f"{header}: {encoded} <{address}>\r\n".encode("ascii")


def _body_value(value: str) -> str:
    # Bodies are CRLF-terminated lines; a bare CR or LF inside a value would corrupt them.
    if value.isprintable():  # no line break of any kind: the common case, and cheap
        return value
    return "\r\n".join(value.splitlines())


def substitute_text(template: str, values: Mapping[str, str], *, escape: bool = False) -> str:
    def replace(match: re.Match[str]) -> str:
        value = values.get(match.group(1), "")
        return html.escape(value) if escape else value

    return _TEXT_MARKER.sub(replace, template)


def _wrap_long_lines(text: str) -> str:
    """Break lines longer than WRAP_AT at a space so 8bit bodies stay valid.

    Markers contain no spaces, so a break never splits one. Lines without a usable
    space are left alone; the template then falls back to full builds.
    """
    out: list[str] = []
    for line in text.splitlines():
        while len(line.encode("utf-8")) > WRAP_AT:
            head = line.encode("utf-8")[:WRAP_AT].decode("utf-8", errors="ignore")
            cut = head.rfind(" ")
            if cut <= 0:
                break
            out.append(line[:cut])
            line = line[cut + 1 :]
        out.append(line)
    return "\n".join(out) + "\n"


def _content_type(value: str) -> tuple[str, str, dict[str, str]]:
    main, _, rest = value.partition(";")
    maintype, _, subtype = main.strip().lower().partition("/")
    params: dict[str, str] = {}
    for part in rest.split(";"):
        key, sep, val = part.partition("=")
        if sep:
            params[key.strip().lower()] = val.strip().strip('"')
    return maintype or "application", subtype or "octet-stream", params


def _attach(msg: EmailMessage, attachment: Mapping[str, Any]) -> None:
    maintype, subtype, params = _content_type(str(attachment.get("content_type", "application/octet-stream")))
    filename = single_line(str(attachment.get("filename", "bilaga")))
    content = attachment.get("content", "")
    if maintype == "text":
        charset = params.pop("charset", "utf-8")
        msg.add_attachment(str(content), subtype=subtype, charset=charset, filename=filename, params=params)
    else:
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename, params=params)


def _add_inline_invitation(msg: EmailMessage, attachment: Mapping[str, Any], cte: str | None) -> None:
    """An iMIP invitation (RFC 6047) also goes inline as the last alternative.

    Outlook only offers "Accept/Decline" when the text/calendar part with its METHOD sits in
    the multipart/alternative beside the text; Gmail and Thunderbird also read the attachment.
    """
    maintype, subtype, params = _content_type(str(attachment.get("content_type", "")))
    if (maintype, subtype) != ("text", "calendar") or "method" not in params:
        return
    charset = params.pop("charset", "utf-8")
    msg.add_alternative(
        str(attachment.get("content", "")), subtype="calendar", charset=charset, cte=cte, params=params
    )


def _mime_body(
    text: str, html_body: str, attachments: Sequence[Mapping[str, Any]], cte: str | None
) -> EmailMessage:
    msg = EmailMessage(policy=POLICY)
    msg.set_content(text, cte=cte)
    if html_body:
        msg.add_alternative(html_body, subtype="html", cte=cte)
    for attachment in attachments:
        _add_inline_invitation(msg, attachment, cte)
    for attachment in attachments:
        _attach(msg, attachment)
    return msg


@dataclass(frozen=True)
class Recipient:
    """What ``render`` needs of one outbox row."""

    address: str
    name: str
    message_id: str
    personalisation: Mapping[str, str]


@dataclass(frozen=True)
class MessageTemplate:
    """A message rendered once; immutable, so one instance may serve many threads."""

    sender: str
    envelope_from: str
    subject: str
    text_body: str
    html_body: str
    headers: tuple[tuple[str, str], ...]
    attachments: tuple[Mapping[str, Any], ...]
    from_line: bytes
    subject_line: bytes | None  # None: the subject has markers, fold per recipient
    extra_lines: bytes | None  # None: some extra header has markers
    mime_lines: bytes  # MIME-Version and Content-Type of the skeleton
    body: bytes
    body_has_markers: bool
    # The body split at its markers: literals[0], marker[0], literals[1], … literals[-1].
    literals: tuple[bytes, ...]
    markers: tuple[tuple[bool, str], ...]  # (HTML-escape?, key)
    body_max_line: int
    boundary: bytes
    fast: bool  # False: every recipient gets a full build
    transparent: bool  # no line of the body starts with a dot and it ends in CRLF

    @classmethod
    def build(
        cls,
        *,
        sender: str,
        subject: str,
        text_body: str,
        html_body: str = "",
        headers: Mapping[str, str] | None = None,
        attachments: Sequence[Mapping[str, Any]] = (),
    ) -> MessageTemplate:
        sender_name, envelope_from = parseaddr(single_line(sender))
        if not _ENVELOPE_ADDRESS.match(envelope_from):
            # It goes into MAIL FROM verbatim: nothing but a plain address may pass.
            raise ValueError(f"sender {sender!r} has no usable address")
        extra = tuple((name, str(value)) for name, value in (headers or {}).items())
        for name, _value in extra:
            check_header_name(name)
        text = _wrap_long_lines(text_body or "")
        # Mark HTML markers so their values are escaped, text markers are not.
        marked_html = _TEXT_MARKER.sub(r"%%h:\1%%", _wrap_long_lines(html_body)) if html_body else ""
        skeleton = _mime_body(text, marked_html, attachments, cte="8bit")
        raw = skeleton.as_bytes(policy=POLICY)
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = body.split(b"\r\n")
        body_max_line = max((len(line) for line in lines), default=0)
        mime_lines = b"MIME-Version: 1.0\r\n" + b"".join(
            line + b"\r\n" for line in head.split(b"\r\n") if not line.lower().startswith(b"mime-version:")
        )
        boundary = (skeleton.get_boundary() or "").encode("ascii")
        literals: list[bytes] = []
        markers: list[tuple[bool, str]] = []
        position = 0
        for match in _MARKER.finditer(body):
            literals.append(body[position : match.start()])
            markers.append((bool(match.group(1)), match.group(2).decode("ascii")))
            position = match.end()
        literals.append(body[position:])
        subject_has_markers = "%%" in subject
        extra_has_markers = any("%%" in value for _name, value in extra)
        return cls(
            sender=sender,
            envelope_from=envelope_from,
            subject=subject,
            text_body=text_body,
            html_body=html_body,
            headers=extra,
            attachments=tuple(attachments),
            from_line=fold_header("From", formataddr((sender_name, envelope_from))),
            subject_line=None if subject_has_markers else fold_header("Subject", subject),
            extra_lines=None if extra_has_markers else b"".join(fold_header(n, v) for n, v in extra),
            mime_lines=mime_lines,
            body=body,
            body_has_markers=bool(markers),
            literals=tuple(literals),
            markers=tuple(markers),
            body_max_line=body_max_line,
            boundary=boundary,
            fast=body_max_line <= MAX_LINE,
            transparent=body.endswith(b"\r\n") and not (body.startswith(b".") or b"\n." in body),
        )

    # -- per recipient -------------------------------------------------------------

    def _recipient_headers(self, recipient: Recipient, values: Mapping[str, str]) -> bytes:
        parts = [
            _date_line(int(time.time())),
            self.from_line,
            address_header(recipient.name, recipient.address),
            self.subject_line
            if self.subject_line is not None
            else fold_header("Subject", substitute_text(self.subject, values)),
            b"Message-ID: " + recipient.message_id.encode("ascii") + b"\r\n",
            bulk_lines(self.envelope_from),
        ]
        if self.extra_lines is not None:
            parts.append(self.extra_lines)
        else:
            # A header whose per-recipient value is empty is left out (e.g. no earlier mail
            # to thread under): "Name:" with nothing after it is not a valid header.
            for name, value in self.headers:
                text = substitute_text(value, values)
                if text.strip():
                    parts.append(fold_header(name, text))
        unsubscribe = values.get("unsubscribe_url", "")
        if unsubscribe and _URL_SAFE.match(unsubscribe) and len(unsubscribe) < 900:
            # RFC 8058 one-click unsubscribe.
            parts.append(b"List-Unsubscribe: <" + unsubscribe.encode("ascii") + b">\r\n")
            parts.append(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
        return b"".join(parts)

    def render(self, recipient: Recipient) -> bytes:
        """The complete mail for one recipient, CRLF line endings."""
        return self._render(recipient)[0]

    def render_wire(self, recipient: Recipient) -> bytes:
        """``render`` as SMTP's DATA carries it: dot-stuffed (RFC 5321 §4.5.2) and ending
        in the final dot. Looking for lines that start with a dot costs more than
        rendering a large mail, so only the substituted values are looked at when the
        template itself has none."""
        data, transparent = self._render(recipient, b".\r\n")
        return data if transparent else dot_stuffed(data)

    def _render(self, recipient: Recipient, tail: bytes = b"") -> tuple[bytes, bool]:
        """The mail, and whether it is known to have no line starting with a dot; ``tail``
        is appended when it is (one copy of the mail instead of one per piece)."""
        values = recipient.personalisation
        if not self.fast:
            return self.render_full(recipient), False
        transparent = self.transparent
        # Header lines start with a name or, folded, with white space: never with a dot.
        parts = [self._recipient_headers(recipient, values), self.mime_lines, b"\r\n", self.literals[0]]
        if self.body_has_markers:
            text_values: dict[str, bytes] = {}
            html_values: dict[str, bytes] = {}
            for (escape, key), literal in zip(self.markers, self.literals[1:], strict=True):
                cache = html_values if escape else text_values
                value = cache.get(key)
                if value is None:
                    text = str(values.get(key, ""))
                    value = (html.escape(text) if escape else _body_value(text)).encode("utf-8")
                    if self.boundary and self.boundary in value:
                        return self.render_full(recipient), False
                    if value[:1] == b"." or b"\n." in value:
                        transparent = False
                    cache[key] = value
                parts.append(value)
                parts.append(literal)
            grown = sum(map(len, text_values.values())) + sum(map(len, html_values.values()))
            if (
                self.body_max_line + grown > MAX_LINE
                and max(map(len, b"".join(parts[3:]).split(b"\r\n"))) > MAX_LINE
            ):
                return self.render_full(recipient), False
        if transparent:
            parts.append(tail)
        return b"".join(parts), transparent

    def render_full(self, recipient: Recipient) -> bytes:
        """Build the recipient's mail from scratch; the email package picks encodings."""
        values = recipient.personalisation
        text = substitute_text(self.text_body, values)
        html_body = substitute_text(self.html_body, values, escape=True) if self.html_body else ""
        msg = _mime_body(text, html_body, self.attachments, cte=None)
        body = msg.as_bytes(policy=POLICY).partition(b"\r\n\r\n")
        head_mime = b"MIME-Version: 1.0\r\n" + b"".join(
            line + b"\r\n" for line in body[0].split(b"\r\n") if not line.lower().startswith(b"mime-version:")
        )
        return self._recipient_headers(recipient, values) + head_mime + b"\r\n" + body[2]
