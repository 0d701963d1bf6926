"""SMTP for the delivery worker: many connections driven by one thread.

A connection is opened with ``smtplib`` (socket timeout, STARTTLS, AUTH: the rare, slow
part) and then driven by ``SmtpPipe``, a small state machine over the same socket that
never waits for a reply: the worker's loop sends on every connection that is ready and
reads whichever answers first (``selectors``). One thread needs no locks and no
hand-overs between threads; with a thread per connection, waking the others and
waiting for the GIL cost more than the mails (issue 10's fan-out benchmark).

The protocol is RFC 5321 with RFC 2920 PIPELINING when the server offers it (MAIL, RCPT
and DATA in one write; the body and its final dot in another), lockstep otherwise. A
mail counts as sent only after the server's 250 to its final dot, and the loop decides
when that dot may go out (``send_body``): the crash bound of docs/delivery.md.

Why not Flask-Mail's ``Connection``: it sends only ``flask_mail.Message`` objects, built
from scratch for every mail (milliseconds each; we send bytes rendered once per message),
opens connections without a socket timeout and cannot pipeline. We use its settings
(``MAIL_SERVER``, ``MAIL_PORT``, ``MAIL_USE_TLS``, ``MAIL_USE_SSL``, ``MAIL_USERNAME``,
``MAIL_PASSWORD``, ``MAIL_DEFAULT_SENDER``) so there is one mail configuration.
"""

from __future__ import annotations

import contextlib
import enum
import selectors
import smtplib
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any

# RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets; smtplib allows 8192.
_MAXLINE = smtplib._MAXLINE
TIMEOUT_ERROR = "Tidsgränsen gick ut mot e-postservern."


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to connect (Flask-Mail's settings); ``DeliverySettings`` adds the rest."""

    server: str
    port: int
    use_tls: bool
    use_ssl: bool
    username: str
    password: str
    smtp_timeout: float


class ConnectFailed(Exception):
    """Could not open (or set up) a connection to the mail server."""


def reply_text(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{code} {text}".strip()


def describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return reply_text(exc.smtp_code, exc.smtp_error)
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return TIMEOUT_ERROR
    if isinstance(exc, ConnectionRefusedError):
        return f"E-postservern tog inte emot anslutningen ({exc})."
    return f"{type(exc).__name__}: {exc}"


def open_smtp(settings: SmtpSettings) -> smtplib.SMTP:
    """A connected, greeted (and if configured encrypted and logged-in) ``smtplib.SMTP``."""
    s = settings
    smtp: smtplib.SMTP | None = None
    try:
        if s.use_ssl:
            smtp = smtplib.SMTP_SSL(
                s.server, s.port, timeout=s.smtp_timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(s.server, s.port, timeout=s.smtp_timeout)
        smtp.ehlo()
        if s.use_tls:
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if s.username:
            smtp.login(s.username, s.password)
    except (OSError, smtplib.SMTPException, UnicodeError) as exc:
        if smtp is not None:
            with contextlib.suppress(OSError):
                smtp.close()
        if isinstance(exc, UnicodeError):  # smtplib sends user name and password as ASCII only
            raise ConnectFailed(
                "Användarnamnet eller lösenordet för e-postservern har tecken som smtplib inte kan skicka "
                "(bara ASCII går)."
            ) from exc
        raise ConnectFailed(describe(exc)) from exc
    return smtp


class Phase(enum.Enum):
    closed = "closed"  # no connection; ``start`` opens one
    idle = "idle"  # connected, no mail
    commands = "commands"  # MAIL/RCPT/DATA sent, answers outstanding
    ready = "ready"  # the server said 354: the body may go when the loop allows it
    body = "body"  # body and final dot sent, the 250 outstanding
    cleanup = "cleanup"  # after a refusal: an empty DATA's dot or RSET outstanding


@dataclass(slots=True)
class Event:
    """What a connection reports about its mail (``job``)."""

    kind: str  # "accepted", "refused" (the server's answer) or "lost" (connection trouble)
    job: Any
    code: int = 0
    text: str = ""
    at: float = 0.0  # time.monotonic() of an "accepted"

    @property
    def permanent(self) -> bool:
        """5xx answers are final; 4xx and network trouble are worth retrying."""
        return self.kind == "refused" and self.code >= 500


class SmtpPipe:
    """One SMTP connection, driven without waiting by the worker's loop (one thread)."""

    def __init__(self, settings: SmtpSettings, selector: selectors.BaseSelector) -> None:
        self.settings = settings
        self.selector = selector
        self.phase = Phase.closed
        self.job: Any = None
        self.deadline = 0.0  # time.monotonic() by which the outstanding answer must come
        self._sock: socket.socket | None = None
        self._tls = False
        self._pipelining = False
        self._options = ""
        self._buffer = b""
        self._lines: list[bytes] = []
        self._expected: list[str] = []  # the commands whose answers are outstanding
        self._answers: dict[str, tuple[int, bytes]] = {}
        self._envelope: tuple[str, str] = ("", "")
        self._data = b""
        self._failure: Event | None = None
        self._close_after = False
        self._closing = ""  # a 421's answer

    @property
    def free(self) -> bool:
        """No mail on this connection: ``start`` may begin one."""
        return self.phase in (Phase.closed, Phase.idle)

    @property
    def busy(self) -> bool:
        return not self.free

    # -- set-up and tear-down ---------------------------------------------------------

    def _open(self) -> None:
        smtp = open_smtp(self.settings)
        self._pipelining = smtp.has_extn("pipelining")
        self._options = " BODY=8BITMIME" if smtp.has_extn("8bitmime") else ""
        sock = smtp.sock
        assert sock is not None
        # smtplib reads through a buffered file; after EHLO (and AUTH) it holds nothing,
        # from here on the socket is read directly.
        if smtp.file is not None:
            smtp.file.close()
        self._sock = sock
        self._tls = isinstance(sock, ssl.SSLSocket)
        self._buffer, self._lines = b"", []
        self.selector.register(sock, selectors.EVENT_READ, self)
        self.phase = Phase.idle

    def close(self) -> None:
        """QUIT politely when idle; otherwise as ``drop``."""
        if self._sock is not None and self.phase is Phase.idle:
            with contextlib.suppress(OSError):
                self._sock.sendall(b"QUIT\r\n")
        self.drop()

    def drop(self) -> None:
        """Close without QUIT: a mail before its final dot is discarded by the server."""
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(sock)
            with contextlib.suppress(OSError):
                sock.close()
        self.phase = Phase.closed
        self.job = None
        self._expected, self._answers, self._failure, self._close_after = [], {}, None, False
        self._closing = ""

    # -- one mail ---------------------------------------------------------------------

    def start(self, envelope_from: str, to: str, data: bytes, job: Any) -> None:
        """Begin a mail; opens the connection first if needed (``ConnectFailed``).

        ``data`` is the mail as DATA carries it, dot-stuffed and ending in the final dot
        (``MessageTemplate.render_wire``, ``mime.dot_stuffed``).

        Raises ``OSError`` if the commands cannot be written (the connection is closed).
        """
        if self.phase is Phase.closed:
            self._open()
        assert self.phase is Phase.idle
        self.job, self._envelope, self._data = job, (envelope_from, to), data
        self._answers, self._failure, self._close_after, self._closing = {}, None, False, ""
        self.phase = Phase.commands
        if self._pipelining:
            self._expected = ["mail", "rcpt", "data"]
            self._write(
                f"MAIL FROM:<{envelope_from}>{self._options}\r\nRCPT TO:<{to}>\r\nDATA\r\n".encode("ascii")
            )
        else:
            self._expected = ["mail"]
            self._write(f"MAIL FROM:<{envelope_from}>{self._options}\r\n".encode("ascii"))

    def send_body(self) -> None:
        """The body and its final dot: from now on the server may accept the mail."""
        assert self.phase is Phase.ready
        self.phase = Phase.body
        self._expected = ["body"]
        self._write(self._data)
        self._data = b""

    def _write(self, payload: bytes) -> None:
        """Send ``payload``; on ``OSError`` the connection is dropped and the error raised."""
        assert self._sock is not None
        self.deadline = time.monotonic() + self.settings.smtp_timeout
        try:
            self._sock.sendall(payload)  # bounded by the socket timeout
        except OSError:
            self.drop()
            raise

    # -- answers ----------------------------------------------------------------------

    def on_readable(self) -> list[Event]:
        """Read what the server sent; returns what happened to the mail, if anything."""
        assert self._sock is not None
        try:
            chunk = self._sock.recv(65536)
            if self._tls:
                while self._sock.pending():  # type: ignore[attr-defined]
                    chunk += self._sock.recv(65536)
        except (BlockingIOError, ssl.SSLWantReadError):
            return []
        except OSError as exc:
            return self._lost(f"SMTPServerDisconnected: Connection unexpectedly closed: {exc}")
        if not chunk:
            return self._lost("SMTPServerDisconnected: Connection unexpectedly closed")
        *lines, self._buffer = (self._buffer + chunk if self._buffer else chunk).split(b"\n")
        if len(self._buffer) > _MAXLINE:
            return self._lost("500 Line too long.")
        events: list[Event] = []
        for line in lines:
            if len(line) > _MAXLINE:
                return events + self._lost("500 Line too long.")
            text = line[4:].strip(b" \t\r")
            if line[3:4] == b"-":
                self._lines.append(text)
                continue
            if self._lines:
                self._lines.append(text)
                text, self._lines = b"\n".join(self._lines), []
            try:
                code = int(line[:3])
            except ValueError:
                code = -1
            events += self._answer(code, text)
            if self.phase is Phase.closed:
                return events
        return events

    def timed_out(self) -> list[Event]:
        return self._lost(TIMEOUT_ERROR)

    def _lost(self, text: str) -> list[Event]:
        job = (
            self.job
            if self.phase in (Phase.commands, Phase.ready, Phase.body) and self._failure is None
            else None
        )
        text = self._closing or text  # the server said why before it hung up
        self.drop()
        return [Event("lost", job, text=text)] if job is not None else []

    def _answer(self, code: int, message: bytes) -> list[Event]:
        if code == 421:  # the server is closing the connection (RFC 5321 §3.8)
            self._close_after, self._closing = True, reply_text(code, message)
        if not self._expected:  # unasked for: a 421 while idle, or while the body waits
            return self._lost(self._closing) if code == 421 else []
        command = self._expected.pop(0)
        if self.phase is Phase.body:
            job = self.job
            if code == 250:
                self.job, self.phase = None, Phase.idle
                return [Event("accepted", job, code, at=time.monotonic())]
            return [self._refused(code, message)] + self._clean_up()
        if self.phase is Phase.cleanup:
            if not self._expected:
                if self._close_after or command == "rset" and code != 250:
                    self.drop()
                elif command == "rset":
                    self.phase = Phase.idle
                else:
                    return self._clean_up()
            return []
        # Phase.commands
        self._answers[command] = (code, message)
        if self._expected:  # pipelined: the other answers are on their way
            return []
        for name in ("mail", "rcpt", "data"):
            answer = self._answers.get(name)
            if answer is not None and answer[0] not in _GOOD[name]:
                event = self._refused(*answer)
                if self._answers.get("data", (0,))[0] == 354:
                    # Some servers start DATA even without a valid recipient: end it empty.
                    self.phase, self._expected = Phase.cleanup, ["empty"]
                    return [event, *self._send(b".\r\n")]
                return [event, *self._clean_up()]
        if command == "data":
            self.phase = Phase.ready
            return []
        if command == "mail":  # lockstep: one command at a time
            self._expected = ["rcpt"]
            return self._send(f"RCPT TO:<{self._envelope[1]}>\r\n".encode("ascii"))
        self._expected = ["data"]
        return self._send(b"DATA\r\n")

    def _refused(self, code: int, message: bytes) -> Event:
        event = Event("refused", self.job, code, reply_text(code, message))
        self._failure = event
        return event

    def _clean_up(self) -> list[Event]:
        """After a refusal: RSET and carry on, or close after a 421."""
        self.job = None
        if self._close_after:
            self.drop()
            return []
        self.phase, self._expected = Phase.cleanup, ["rset"]
        return self._send(b"RSET\r\n")

    def _send(self, payload: bytes) -> list[Event]:
        """A write of the state machine's own: trouble is reported like a lost connection."""
        job = self.job if self._failure is None else None
        try:
            self._write(payload)
        except OSError as exc:
            return [Event("lost", job, text=describe(exc))] if job is not None else []
        return []


_GOOD = {"mail": (250,), "rcpt": (250, 251), "data": (354,)}
