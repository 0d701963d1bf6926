"""The sender: claim outbox rows, send them over reused SMTP connections, record outcomes.

Crash safety comes from the row states, not from the process:

* a claim sets ``state=sending``, ``claimed_at`` and ``claimed_by`` and is committed
  before anything is sent; on PostgreSQL rows are claimed with
  ``FOR UPDATE SKIP LOCKED`` so several workers never claim the same row, on SQLite the
  claim is a single ``UPDATE … RETURNING`` statement (SQLite serialises writers);
* a claim older than the lease (``DELIVERY_LEASE_SECONDS``) is claimable again, so a
  worker killed between claim and "sent" loses nothing and at most its in-flight batch
  is sent twice;
* outcomes are written only for rows still claimed by this worker, so a worker that
  outlived its lease cannot overwrite the row's newer owner.

Why smtplib rather than Flask-Mail's ``Connection``: Flask-Mail sends only
``flask_mail.Message`` objects, built from scratch for every mail (milliseconds each; we
send bytes rendered once per message), opens connections without a socket timeout (a
hung server would hang the worker) and cannot pipeline (RFC 2920). We use Flask-Mail's
settings (``MAIL_SERVER``, ``MAIL_PORT``, ``MAIL_USE_TLS``, ``MAIL_USE_SSL``,
``MAIL_USERNAME``, ``MAIL_PASSWORD``, ``MAIL_DEFAULT_SENDER``) so there is one mail
configuration.

The rendered-template cache lives on the ``Deliverer`` instance, i.e. per process; it
holds derived, immutable data, so two worker processes each having one is harmless.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import random
import re
import smtplib
import socket
import ssl
import threading
import time
import uuid
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import formataddr
from typing import Any

from flask import Flask
from sqlalchemy import Engine, and_, bindparam, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from commsplan.delivery.mime import MessageTemplate, Recipient
from commsplan.delivery.models import (
    PENDING_PREDICATE,
    PRIORITY_NORMAL,
    AddressBounce,
    DeliveryDay,
    DeliveryState,
    OutboxItem,
    OutgoingMessage,
)
from commsplan.delivery.services import INVALID_ADDRESS_ERROR, valid_address
from commsplan.timeutil import utcnow

log = logging.getLogger(__name__)

# Defaults for ``app.config``; every one can be set as COMMSPLAN_<NAME>.
DEFAULTS: dict[str, Any] = {
    "DELIVERY_MAX_ATTEMPTS": 10,
    "DELIVERY_CONNECTIONS": 2,  # measured best on 2 cores; raise for a distant relay
    "DELIVERY_BATCH_SIZE": 50,
    "DELIVERY_LEASE_SECONDS": 300,
    "DELIVERY_BACKOFF_SECONDS": 30,
    "DELIVERY_BACKOFF_MAX_SECONDS": 3600,
    "DELIVERY_POLL_SECONDS": 2.0,
    "DELIVERY_SMTP_TIMEOUT": 30,
    "DELIVERY_TEMPLATE_CACHE": 64,
    # Relay limits, mails per minute; 0 means no limit.
    "DELIVERY_RATE_PER_CONNECTION": 0,
    "DELIVERY_RATE_PER_WORKER": 0,
    # Mails per UTC day for all workers together (counted in the database); 0: no limit.
    "DELIVERY_MAX_PER_DAY": 0,
}

ITEMS = OutboxItem.__table__


@dataclass(frozen=True)
class DeliverySettings:
    server: str
    port: int
    use_tls: bool
    use_ssl: bool
    username: str
    password: str
    default_sender: str
    max_attempts: int
    connections: int
    batch_size: int
    lease: timedelta
    backoff_seconds: float
    backoff_max_seconds: float
    poll_seconds: float
    smtp_timeout: float
    template_cache: int
    rate_per_connection: float = 0.0
    rate_per_worker: float = 0.0
    max_per_day: int = 0

    @classmethod
    def from_app(cls, app: Flask, **overrides: Any) -> DeliverySettings:
        config = {**DEFAULTS, **app.config}
        sender = config.get("MAIL_DEFAULT_SENDER") or "commsplan@localhost"
        if isinstance(sender, (tuple, list)):
            sender = formataddr((sender[0], sender[1]))
        values: dict[str, Any] = {
            "server": config.get("MAIL_SERVER") or "localhost",
            "port": int(config.get("MAIL_PORT") or 25),
            "use_tls": bool(config.get("MAIL_USE_TLS")),
            "use_ssl": bool(config.get("MAIL_USE_SSL")),
            "username": config.get("MAIL_USERNAME") or "",
            "password": config.get("MAIL_PASSWORD") or "",
            "default_sender": str(sender),
            "max_attempts": max(1, int(config["DELIVERY_MAX_ATTEMPTS"])),
            "connections": max(1, int(config["DELIVERY_CONNECTIONS"])),
            "batch_size": max(1, int(config["DELIVERY_BATCH_SIZE"])),
            "lease": timedelta(seconds=float(config["DELIVERY_LEASE_SECONDS"])),
            "backoff_seconds": float(config["DELIVERY_BACKOFF_SECONDS"]),
            "backoff_max_seconds": float(config["DELIVERY_BACKOFF_MAX_SECONDS"]),
            "poll_seconds": float(config["DELIVERY_POLL_SECONDS"]),
            "smtp_timeout": float(config["DELIVERY_SMTP_TIMEOUT"]),
            "template_cache": max(1, int(config["DELIVERY_TEMPLATE_CACHE"])),
            "rate_per_connection": max(0.0, float(config["DELIVERY_RATE_PER_CONNECTION"])),
            "rate_per_worker": max(0.0, float(config["DELIVERY_RATE_PER_WORKER"])),
            "max_per_day": max(0, int(config["DELIVERY_MAX_PER_DAY"])),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def backoff_delay(attempts: int, base: float, maximum: float) -> float:
    """Exponential backoff with jitter: base·2^(n-1), capped, then 50–100 % of that.

    The jitter spreads retries of a large fan-out so a recovering mail server is not hit
    by all of them in the same second.
    """
    delay = min(base * (2 ** max(attempts - 1, 0)), maximum)
    return delay * (0.5 + random.random() / 2)


@dataclass
class DrainResult:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    released: int = 0
    connection_failed: bool = False
    last_accepted: float | None = None  # time.monotonic() of the last 250 reply
    errors: list[str] = field(default_factory=list)

    def absorb(self, outcome: _Outcome) -> None:
        self.sent += len(outcome.sent)
        self.retrying += len(outcome.retrying)
        self.failed += len(outcome.failed)
        self.released += len(outcome.released)
        if outcome.last_accepted is not None:
            self.last_accepted = max(self.last_accepted or 0.0, outcome.last_accepted)


class ConnectFailed(Exception):
    """Could not open (or set up) a connection to the mail server."""


class Abandoned(Exception):
    """A mail given up before the server accepted it (its sender is stopping)."""


class SmtpConnection:
    """One SMTP connection, opened on first use and reused for many mails. One thread."""

    def __init__(self, settings: DeliverySettings) -> None:
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
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
        except (OSError, smtplib.SMTPException) as exc:
            if smtp is not None:
                _close_quietly(smtp)
            raise ConnectFailed(_describe(exc)) from exc
        return smtp

    def send(
        self, envelope_from: str, to: str, data: bytes, before_accept: Callable[[], bool] | None = None
    ) -> None:
        """Send one mail; raises smtplib/OS errors, ``ConnectFailed`` if no connection.

        ``before_accept`` is called before the server can accept the mail (before the
        final dot); if it returns false the mail is abandoned unsent (the connection is
        dropped before the dot, so the server discards it) and ``Abandoned`` is raised.
        """
        if self.smtp is None:
            self.smtp = self._connect()
        smtp = self.smtp
        options = ["BODY=8BITMIME"] if smtp.has_extn("8bitmime") else []
        try:
            if smtp.has_extn("pipelining"):
                _send_pipelined(smtp, envelope_from, to, data, options, before_accept)
            else:
                if before_accept is not None and not before_accept():
                    raise Abandoned()
                smtp.sendmail(envelope_from, [to], data, mail_options=options)
        except Abandoned:
            self.close_now()
            raise
        except (OSError, smtplib.SMTPServerDisconnected):
            self.close()
            raise
        except smtplib.SMTPException:
            if smtp.sock is None:  # closed after a 421
                self.smtp = None
            raise

    def close_now(self) -> None:
        """Drop the connection without QUIT: a mail in the middle of DATA is discarded."""
        if self.smtp is not None:
            smtp, self.smtp = self.smtp, None
            _close_quietly(smtp)

    def close(self) -> None:
        if self.smtp is not None:
            smtp, self.smtp = self.smtp, None
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                _close_quietly(smtp)


_LEADING_DOT = re.compile(rb"(?m)^\.")


def _send_pipelined(
    smtp: smtplib.SMTP,
    envelope_from: str,
    to: str,
    data: bytes,
    options: list[str],
    before_accept: Callable[[], bool] | None = None,
) -> None:
    """One mail in two round trips instead of four (RFC 2920 PIPELINING).

    smtplib waits for the answer to MAIL, RCPT and DATA one by one; on loopback or a
    LAN those waits, not CPU, bound throughput. Replies are still read and checked in
    order, so a mail counts as sent only after the server's 250 to its final dot.

    ``before_accept`` is asked once the server is ready for the body: it takes
    responsibility for a mail only at the final dot (RFC 5321 §4.1.1.4), so the commit
    of the sender's previous mail has this mail's command round trip to finish in.
    """
    params = "".join(" " + option for option in options)
    smtp.send(f"MAIL FROM:<{envelope_from}>{params}\r\nRCPT TO:<{to}>\r\nDATA\r\n".encode("ascii"))
    mail_reply = _reply_of(smtp)
    rcpt_reply = _reply_of(smtp)
    data_reply = _reply_of(smtp)
    if mail_reply[0] == 250 and rcpt_reply[0] in (250, 251) and data_reply[0] == 354:
        if before_accept is not None and not before_accept():
            raise Abandoned()
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        if data.startswith(b".") or b"\n." in data:  # the regex costs more than the check
            data = _LEADING_DOT.sub(b"..", data)
        smtp.send(data + b".\r\n")
        code, reply = _reply_of(smtp)
        if code != 250:
            if code == 421:
                smtp.close()
            else:
                _reset(smtp)
            raise smtplib.SMTPDataError(code, reply)
        return
    if data_reply[0] == 354:
        # Some servers start DATA even without a valid recipient: end it empty.
        smtp.send(b".\r\n")
        smtp.getreply()
    if 421 in (mail_reply[0], rcpt_reply[0], data_reply[0]):
        smtp.close()
    else:
        _reset(smtp)
    if mail_reply[0] != 250:
        raise smtplib.SMTPSenderRefused(mail_reply[0], mail_reply[1], envelope_from)
    if rcpt_reply[0] not in (250, 251):
        raise smtplib.SMTPRecipientsRefused({to: rcpt_reply})
    raise smtplib.SMTPDataError(*data_reply)


def _reply_of(smtp: smtplib.SMTP) -> tuple[int, bytes]:
    """``smtp.getreply()`` without its per-line bookkeeping; same results and errors."""
    if smtp.file is None:
        return smtp.getreply()
    lines = []
    while True:
        try:
            line = smtp.file.readline(smtplib._MAXLINE + 1)
        except OSError as exc:
            smtp.close()
            raise smtplib.SMTPServerDisconnected(f"Connection unexpectedly closed: {exc}") from exc
        if not line:
            smtp.close()
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        if len(line) > smtplib._MAXLINE:
            smtp.close()
            raise smtplib.SMTPResponseException(500, "Line too long.")
        lines.append(line[4:].strip(b" \t\r\n"))
        if line[3:4] != b"-":
            try:
                code = int(line[:3])
            except ValueError:
                code = -1
            return code, b"\n".join(lines)


def _reset(smtp: smtplib.SMTP) -> None:
    try:
        smtp.rset()
    except smtplib.SMTPServerDisconnected:
        smtp.close()


def _close_quietly(smtp: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError):
        smtp.close()


def _reply(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{code} {text}".strip()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(_reply(code, msg) for code, msg in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reply(exc.smtp_code, exc.smtp_error)
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "Tidsgränsen gick ut mot e-postservern."
    if isinstance(exc, ConnectionRefusedError):
        return f"E-postservern tog inte emot anslutningen ({exc})."
    return f"{type(exc).__name__}: {exc}"


def _is_permanent(exc: BaseException) -> bool:
    """5xx answers are final; everything else (4xx, network trouble) is worth retrying."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _msg in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return False  # our configuration, not the recipient: keep the mail
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return False


@dataclass(frozen=True)
class Claimed:
    id: int
    message_id: int
    to_address: str
    to_name: str
    personalisation: dict[str, str]
    message_id_header: str
    attempts: int
    priority: int = PRIORITY_NORMAL
    claimed_at: float = 0.0  # time.monotonic() of the claim
    claimed_day: date | None = None  # the UTC day whose quota the claim counts against


@dataclass
class _Outcome:
    sent: list[int] = field(default_factory=list)
    retrying: list[tuple[int, datetime, str]] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    # The subset of ``failed`` the server refused permanently (5xx): the address is flagged.
    bounced: list[tuple[int, str]] = field(default_factory=list)
    released: list[int] = field(default_factory=list)
    # Released rows per day they were counted on (DELIVERY_MAX_PER_DAY): given back.
    given_back: Counter[date] = field(default_factory=Counter)
    last_accepted: float | None = None

    @property
    def count(self) -> int:
        return len(self.sent) + len(self.retrying) + len(self.failed) + len(self.released)


# The statements are built once; building and cache-keying them per batch showed up in
# profiles. They are immutable, so sharing them between threads and workers is safe.
_NOW = bindparam("now", type_=ITEMS.c.claimed_at.type)
_OURS = and_(ITEMS.c.claimed_by == bindparam("claimer"), ITEMS.c.state == DeliveryState.sending)
_CANDIDATES = (
    select(ITEMS.c.id)
    .where(
        # Verbatim first term: the partial index's predicate.
        text(PENDING_PREDICATE),
        or_(
            and_(
                ITEMS.c.state != DeliveryState.sending,
                or_(ITEMS.c.next_attempt_at.is_(None), ITEMS.c.next_attempt_at <= _NOW),
            ),
            and_(
                ITEMS.c.state == DeliveryState.sending,
                ITEMS.c.claimed_at < bindparam("stale_before", type_=ITEMS.c.claimed_at.type),
            ),
        ),
    )
    .order_by(ITEMS.c.priority, ITEMS.c.id)
    .limit(bindparam("limit"))
)


def _claim_statement(candidates: Any) -> Any:
    return (
        update(ITEMS)
        .where(ITEMS.c.id.in_(candidates.scalar_subquery()))
        .values(
            state=DeliveryState.sending,
            claimed_at=_NOW,
            claimed_by=bindparam("claimer"),
            attempts=ITEMS.c.attempts + 1,
        )
        .returning(
            ITEMS.c.id,
            ITEMS.c.message_id,
            ITEMS.c.to_address,
            ITEMS.c.to_name,
            ITEMS.c.personalisation,
            ITEMS.c.message_id_header,
            ITEMS.c.attempts,
            ITEMS.c.priority,
        )
    )


_CLAIM = _claim_statement(_CANDIDATES)
# PostgreSQL: rows another worker is claiming right now are skipped, not waited for.
_CLAIM_LOCKING = _claim_statement(_CANDIDATES.with_for_update(skip_locked=True))
_MARK_SENT = (
    update(ITEMS)
    .where(ITEMS.c.id.in_(bindparam("ids", expanding=True)), _OURS)
    .values(state=DeliveryState.sent, sent_at=_NOW, next_attempt_at=None, last_error="")
)
_MARK_RETRYING = (
    update(ITEMS)
    .where(ITEMS.c.id == bindparam("b_id"), _OURS)
    .values(
        state=DeliveryState.retrying,
        next_attempt_at=bindparam("b_next", type_=ITEMS.c.next_attempt_at.type),
        last_error=bindparam("b_error"),
    )
)
_MARK_FAILED = (
    update(ITEMS)
    .where(ITEMS.c.id == bindparam("b_id"), _OURS)
    .values(state=DeliveryState.failed, next_attempt_at=None, last_error=bindparam("b_error"))
)
# Permanently refused rows still ours, and the flag each one puts on its address.
_BOUNCED_ROWS = select(ITEMS.c.id, ITEMS.c.to_address, ITEMS.c.contact_id).where(
    ITEMS.c.id.in_(bindparam("ids", expanding=True)), _OURS
)
_INSERT_BOUNCE = insert(AddressBounce.__table__)
# DELIVERY_MAX_PER_DAY: the day's row, created if missing, then locked and read.
DAYS = DeliveryDay.__table__
_DAY = bindparam("b_day", type_=DAYS.c.day.type)
_START_DAY = {
    "postgresql": postgresql.insert(DAYS).values(day=_DAY, claimed=0).on_conflict_do_nothing(),
    "sqlite": sqlite.insert(DAYS).values(day=_DAY, claimed=0).on_conflict_do_nothing(),
}
_DAY_USED = select(DAYS.c.claimed).where(DAYS.c.day == _DAY)
_DAY_USED_LOCKING = _DAY_USED.with_for_update()
_COUNT_DAY = update(DAYS).where(DAYS.c.day == _DAY).values(claimed=DAYS.c.claimed + bindparam("n"))
# Not attempted (stopping, or it waited too long): queued again, attempt given back.
_RELEASE = (
    update(ITEMS)
    .where(ITEMS.c.id.in_(bindparam("ids", expanding=True)), _OURS)
    .values(state=DeliveryState.queued, attempts=ITEMS.c.attempts - 1, claimed_at=None)
)


class Pacer:
    """Spaces events at least ``60 / per_minute`` seconds apart (0: no limit); thread-safe.

    A relay's limit is a rate, so sends are spread evenly instead of bursting up to a
    quota and stalling: a burst could trip a per-second limit the relay does not publish.
    """

    def __init__(self, per_minute: float) -> None:
        self.interval = 60.0 / per_minute if per_minute > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take the next slot; returns how many seconds from now it starts."""
        if not self.interval:
            return 0.0
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
            return slot - now


class _SentRecorder:
    """Marks rows sent on a database connection of its own, in autocommit mode.

    This is the hot path of the group commit: one ``UPDATE … WHERE id IN (…)`` is one
    statement and one commit (a single round trip on PostgreSQL), its SQL text is built
    once per number of ids so the driver's statement cache (sqlite3) or prepared
    statements (psycopg) skip parsing, and no ORM object is made. On PostgreSQL the
    connection commits with ``synchronous_commit=off``: the commit is visible at once
    and survives a crash of this worker, which is what the mark is for; only a crash of
    the database server itself could lose the last fraction of a second of marks, which
    would send those mails again, never lose them.
    """

    def __init__(self, engine: Engine, claimer: str) -> None:
        self.engine = engine
        self.claimer = claimer
        self.dialect = engine.dialect
        self._bind_now = ITEMS.c.sent_at.type.bind_processor(engine.dialect) or (lambda value: value)
        self._connection: Any = None
        self._raw: Any = None
        self._sql: dict[int, str] = {}

    def _statement(self, count: int) -> str:
        sql = self._sql.get(count)
        if sql is None:
            table, c = ITEMS.name, ITEMS.c
            head = (
                f"UPDATE {table} SET {c.state.name} = '{DeliveryState.sent.name}', "  # noqa: S608 - our names only
                f"{c.sent_at.name} = %(p)s, {c.next_attempt_at.name} = NULL, {c.last_error.name} = '' "
                f"WHERE {c.claimed_by.name} = %(p)s AND {c.state.name} = '{DeliveryState.sending.name}' AND "
            )
            if self.dialect.name == "postgresql":
                sql = (head + f"{c.id.name} = ANY(%(p)s)") % {"p": "%s"}
            else:
                sql = (head % {"p": "?"}) + f"{c.id.name} IN ({', '.join('?' * count)})"
            self._sql[count] = sql
        return sql

    def _open(self) -> None:
        self._connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        # One cursor for every mark: making one per statement cost more than the UPDATE.
        self._raw = self._connection.connection.driver_connection.cursor()
        if self.dialect.name == "postgresql":
            self._raw.execute("SET synchronous_commit TO off")

    def mark_sent(self, ids: Sequence[int], now: datetime) -> None:
        if self._raw is None:
            self._open()
        stamp = self._bind_now(now)
        if self.dialect.name == "postgresql":
            self._raw.execute(self._statement(0), (stamp, self.claimer, list(ids)))
        else:
            self._raw.execute(self._statement(len(ids)), (stamp, self.claimer, *ids))

    def close(self) -> None:
        if self._connection is not None:
            connection, raw = self._connection, self._raw
            self._connection, self._raw = None, None
            with contextlib.suppress(Exception):  # back to the pool as it came
                if self.dialect.name == "postgresql":
                    connection.connection.driver_connection.execute("RESET synchronous_commit")
                raw.close()
            connection.close()


class GroupCommit:
    """Records accepted mails as sent: one commit for whatever all senders have had accepted.

    A committer thread of its own starts a commit as soon as a sender ``add``s a mail
    and covers every mail added meanwhile, so commits run back to back while the
    senders talk to the mail server. ``ensure(n)`` blocks until mail ``n`` is committed;
    a sender calls it for its previous mail just before the server can accept its next
    one, by which time the commit has usually long finished. ``lock`` is held by
    whoever writes to a SQLite database, so writes never interleave there (a waiting
    SQLite writer sleeps in milliseconds).
    """

    def __init__(self, engine: Engine, claimer: str, clock: Callable[[], datetime]) -> None:
        self.recorder = _SentRecorder(engine, claimer)
        self.clock = clock
        # Only SQLite needs writers kept apart; PostgreSQL locks rows, not the database.
        self.lock: contextlib.AbstractContextManager[Any] = (
            threading.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()
        )
        mutex = threading.Lock()
        self._added_cv = threading.Condition(mutex)
        self._committed_cv = threading.Condition(mutex)
        self._pending: list[int] = []
        self._added = 0
        self._committed = 0
        self._closing = False
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name="commsplan-committer", daemon=True)
        self._thread.start()

    def add(self, row_id: int) -> int:
        with self._added_cv:
            self._pending.append(row_id)
            self._added += 1
            self._added_cv.notify()
            return self._added

    def ensure(self, number: int) -> bool:
        """True once mail ``number`` is recorded; false if recording failed or stopped."""
        with self._committed_cv:
            while self._committed < number and self.error is None:
                self._committed_cv.wait()
            return self._committed >= number and self.error is None

    def abandon(self, error: str = "Avbrutet.") -> None:
        """Let no sender go on: waiting ones give their mail up unsent."""
        with self._committed_cv:
            self.error = self.error or error
            self._committed_cv.notify_all()

    def close(self) -> None:
        """Commit what is left, then stop the committer."""
        with self._added_cv:
            self._closing = True
            self._added_cv.notify()
        self._thread.join()
        self.recorder.close()

    def _run(self) -> None:
        while True:
            with self._added_cv:
                while not self._pending and not self._closing:
                    self._added_cv.wait()
                if not self._pending:
                    return
                ids, self._pending = self._pending, []
                upto = self._added
            try:
                with self.lock:
                    self.recorder.mark_sent(ids, self.clock())
            except Exception as exc:  # the rows stay claimed and come back after the lease
                log.exception("could not record %s sent mails", len(ids))
                self.abandon(f"{type(exc).__name__}: {exc}")
                return
            with self._committed_cv:
                self._committed = upto
                self._committed_cv.notify_all()


class Deliverer:
    """Drains the outbox with ``settings.connections`` sender threads."""

    def __init__(
        self,
        engine: Engine,
        settings: DeliverySettings,
        *,
        name: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.clock = clock
        # Only the draining thread touches it; sender threads get templates with the rows.
        self._templates: OrderedDict[int, MessageTemplate] = OrderedDict()
        # Rate limits outlive one drain, so a worker's back-to-back rounds cannot burst.
        self._worker_pacer = Pacer(settings.rate_per_worker)
        self._connection_pacers = [Pacer(settings.rate_per_connection) for _ in range(settings.connections)]

    @classmethod
    def from_app(cls, app: Flask, **overrides: Any) -> Deliverer:
        from commsplan.extensions import db

        clock = overrides.pop("clock", None) or utcnow
        name = overrides.pop("name", None)
        with app.app_context():
            engine = db.engine
        return cls(engine, DeliverySettings.from_app(app, **overrides), name=name, clock=clock)

    # -- the loop ------------------------------------------------------------------

    def drain(self, stop: threading.Event | None = None) -> DrainResult:
        """Send everything that is due now, then return.

        A crash (SIGKILL, power loss) sends at most one mail per connection twice: a
        sender thread lets the server accept its next mail (the final dot) only once
        its previous one is committed as sent, so each connection has at most one mail
        that the server holds and the database does not know about.

        The senders commit those marks themselves, as a group (``GroupCommit``): the
        first sender that needs its previous mail recorded marks every mail any sender
        has had accepted in one autocommitted ``UPDATE``, and the others find theirs
        already done. A sender does that after putting its next mail's commands on the
        wire, so the commit overlaps the wait for the server's answer and there is no
        hand-over between threads per mail.

        This thread claims rows a batch at a time (up to about two batches ahead, handed
        to the senders in chunks), builds templates, and writes the rarer outcomes
        (retrying, failed, released) together with the next claim; it holds the group's
        lock while it writes, so SQLite never sees two writers (a waiting SQLite writer
        sleeps in milliseconds). Rows claimed but not sent wait for the lease after a
        crash. ``stop`` ends the drain after the mails being sent; rows claimed but not
        started are handed back unsent.
        """
        stop = stop or threading.Event()
        total = DrainResult()
        batch_size = self.settings.batch_size
        chunk_size = max(1, min(16, batch_size // (2 * self.settings.connections)))
        work: queue.Queue[list[tuple[Claimed, MessageTemplate | str]] | None] = queue.Queue()
        results: deque[tuple[Claimed, str, Any]] = deque()  # appends are atomic: no lock
        progress = threading.Event()
        unreachable = threading.Event()
        unreachable_error: list[str] = []
        group = GroupCommit(self.engine, self.name, self.clock)
        senders = [
            threading.Thread(
                target=self._sender,
                args=(i, work, results, progress, stop, unreachable, unreachable_error, group),
                name=f"commsplan-sender-{i}",
                daemon=True,
            )
            for i in range(self.settings.connections)
        ]
        for thread in senders:
            thread.start()
        outstanding = 0  # claimed, not yet reported by a sender
        exhausted = False
        pending = _Outcome()  # outcomes other than "sent", written with the next claim
        last_flush = time.monotonic()
        try:
            with Session(self.engine) as session:
                while True:
                    if outstanding > pending.count and not results:
                        progress.wait(0.05)
                    progress.clear()
                    while results:
                        self._note(pending, *results.popleft())
                    if pending.sent:  # recorded by the senders' group commit
                        outstanding -= len(pending.sent)
                        total.absorb(_Outcome(sent=pending.sent, last_accepted=pending.last_accepted))
                        pending.sent, pending.last_accepted = [], None
                    if group.error is not None:
                        raise RuntimeError(group.error)
                    queued = work.qsize() * chunk_size
                    want_more = (
                        not (exhausted or stop.is_set() or unreachable.is_set()) and queued < 2 * batch_size
                    )
                    flush_due = pending.count >= batch_size or (
                        pending.count
                        and (outstanding == pending.count or time.monotonic() - last_flush > 0.5)
                    )
                    if want_more or flush_due:
                        with group.lock:
                            self._record(session, self.name, pending, commit=False)
                            batch = self.claim(session, self.name, commit=False) if want_more else []
                            templates = self._templates_for(session, batch)
                            session.commit()
                        outstanding -= pending.count
                        total.absorb(pending)
                        pending = _Outcome()
                        last_flush = time.monotonic()
                        if want_more and not batch:
                            exhausted = True
                        total.claimed += len(batch)
                        outstanding += len(batch)
                        for start in range(0, len(batch), chunk_size):
                            work.put(
                                [(c, templates[c.message_id]) for c in batch[start : start + chunk_size]]
                            )
                    if outstanding == 0 and (exhausted or stop.is_set() or unreachable.is_set()):
                        break
        except Exception as exc:  # claimed rows come back after the lease
            log.exception("delivery worker %s stopped", self.name)
            total.errors.append(f"{type(exc).__name__}: {exc}")
            unreachable.set()  # make the senders skip what is left quickly
            group.abandon()  # and give up a mail waiting for its predecessor's commit
        finally:
            for _thread in senders:
                work.put(None)
            for thread in senders:
                thread.join()
            group.close()
        if group.error is not None and not total.errors:
            total.errors.append(group.error)
        total.connection_failed = unreachable.is_set() and bool(unreachable_error)
        return total

    def _note(self, outcome: _Outcome, item: Claimed, kind: str, payload: Any) -> None:
        if kind == "sent":
            outcome.sent.append(item.id)
            outcome.last_accepted = max(outcome.last_accepted or 0.0, payload)
        elif kind == "failed":
            outcome.failed.append((item.id, payload))
        elif kind == "bounced":
            outcome.failed.append((item.id, payload))
            outcome.bounced.append((item.id, payload))
        elif kind == "released":
            outcome.released.append(item.id)
            if item.claimed_day is not None:
                outcome.given_back[item.claimed_day] += 1
        else:
            self._retry_or_fail(outcome, item, payload)

    def _sender(
        self,
        index: int,
        work: queue.Queue[list[tuple[Claimed, MessageTemplate | str]] | None],
        results: deque[tuple[Claimed, str, Any]],
        progress: threading.Event,
        stop: threading.Event,
        unreachable: threading.Event,
        unreachable_error: list[str],
        group: GroupCommit,
    ) -> None:
        connection = SmtpConnection(self.settings)
        pacer = self._connection_pacers[index]
        # Stop well inside the lease so no other worker reclaims rows we still send.
        budget = self.settings.lease.total_seconds() / 2
        last = 0  # the group's number for this connection's last accepted mail

        def previous_recorded() -> bool:
            return group.ensure(last)

        try:
            while True:
                chunk = work.get()
                if chunk is None:
                    return
                for item, template in chunk:
                    if unreachable.is_set():
                        # Without a connection the rest would fail the same way, slowly.
                        error = unreachable_error[0] if unreachable_error else "Avbrutet."
                        results.append((item, "retry", error))
                    elif stop.is_set() or time.monotonic() - item.claimed_at > budget:
                        # Stopping, or waited too long: hand the row back unsent and at once,
                        # rather than leave it to the lease.
                        results.append((item, "released", None))
                    elif not self._pace(pacer, stop):
                        results.append((item, "released", None))
                    else:
                        outcome = self._send_one(
                            connection, item, template, unreachable, unreachable_error, previous_recorded
                        )
                        if outcome[1] == "sent":
                            last = group.add(item.id)
                        results.append(outcome)
                if work.empty():
                    # Report only what is recorded, so the drain never ends before that.
                    group.ensure(last)
                progress.set()
        finally:
            connection.close()

    def _pace(self, pacer: Pacer, stop: threading.Event) -> bool:
        """Wait for this connection's and then the worker's next send slot; false if stopping."""
        delay = pacer.reserve()
        if delay > 0 and stop.wait(delay):
            return False
        delay = self._worker_pacer.reserve()
        return not (delay > 0 and stop.wait(delay))

    def _send_one(
        self,
        connection: SmtpConnection,
        item: Claimed,
        template: MessageTemplate | str,
        unreachable: threading.Event,
        unreachable_error: list[str],
        previous_recorded: Callable[[], bool] | None = None,
    ) -> tuple[Claimed, str, Any]:
        if item.attempts > self.settings.max_attempts:
            # Claimed again and again without an outcome: a worker dies on this row.
            return item, "failed", f"Gav upp efter {item.attempts - 1} försök."
        if not valid_address(item.to_address):
            return item, "failed", INVALID_ADDRESS_ERROR
        if isinstance(template, str):
            return item, "failed", template
        try:
            data = template.render(
                Recipient(item.to_address, item.to_name, item.message_id_header, item.personalisation)
            )
        except Exception as exc:  # a broken message must not stop the others
            log.exception("could not render outbox item %s", item.id)
            return item, "failed", f"Kunde inte bygga brevet: {exc}"
        try:
            connection.send(template.envelope_from, item.to_address, data, previous_recorded)
        except Abandoned:
            return item, "released", None
        except ConnectFailed as exc:
            unreachable_error.append(str(exc))
            unreachable.set()
            return item, "retry", str(exc)
        except (OSError, smtplib.SMTPException) as exc:
            error = _describe(exc)
            return item, ("bounced" if _is_permanent(exc) else "retry"), error
        return item, "sent", time.monotonic()

    # -- database ------------------------------------------------------------------

    def claim(
        self, session: Session, claimer: str, limit: int | None = None, *, commit: bool = True
    ) -> list[Claimed]:
        """Mark up to ``limit`` due rows as ours; the claim is committed before sending."""
        now = self.clock()
        dialect = session.get_bind().dialect.name
        statement = _CLAIM_LOCKING if dialect == "postgresql" else _CLAIM
        limit = limit or self.settings.batch_size
        day = None
        if self.settings.max_per_day:
            # The day's row is locked until this transaction ends: workers take from
            # the quota one after another, never both the same last mails.
            day = now.astimezone(UTC).date()
            session.execute(_START_DAY[dialect], {"b_day": day})
            locking = _DAY_USED_LOCKING if dialect == "postgresql" else _DAY_USED
            used = session.scalar(locking, {"b_day": day}) or 0
            limit = min(limit, self.settings.max_per_day - used)
        params = {"now": now, "stale_before": now - self.settings.lease, "claimer": claimer, "limit": limit}
        rows = session.execute(statement, params).all() if limit > 0 else []
        if day is not None and rows:
            session.execute(_COUNT_DAY, {"b_day": day, "n": len(rows)})
        if commit:
            session.commit()
        claimed_at = time.monotonic()
        claimed = [Claimed(*row, claimed_at=claimed_at, claimed_day=day) for row in rows]
        claimed.sort(key=lambda c: (c.priority, c.id))
        return claimed

    def _record(self, session: Session, claimer: str, outcome: _Outcome, *, commit: bool = True) -> None:
        """Write outcomes, only for rows this worker still owns."""
        now = self.clock()
        if outcome.sent:
            session.execute(_MARK_SENT, {"ids": outcome.sent, "claimer": claimer, "now": now})
        if outcome.retrying:
            session.execute(
                _MARK_RETRYING,
                [{"b_id": i, "claimer": claimer, "b_next": t, "b_error": e} for i, t, e in outcome.retrying],
            )
        if outcome.bounced:
            self._record_bounces(session, claimer, outcome.bounced, now)
        if outcome.failed:
            session.execute(
                _MARK_FAILED, [{"b_id": i, "claimer": claimer, "b_error": e} for i, e in outcome.failed]
            )
        if outcome.released:
            session.execute(_RELEASE, {"ids": outcome.released, "claimer": claimer})
            for day, count in outcome.given_back.items():
                session.execute(_COUNT_DAY, {"b_day": day, "n": -count})
        if commit:
            session.commit()

    def _record_bounces(
        self, session: Session, claimer: str, bounced: list[tuple[int, str]], now: datetime
    ) -> None:
        """Flag the refused addresses, in the commit that marks their items failed."""
        answers = dict(bounced)
        rows = session.execute(_BOUNCED_ROWS, {"ids": list(answers), "claimer": claimer}).all()
        if rows:
            session.execute(
                _INSERT_BOUNCE,
                [
                    {
                        "email": row.to_address.strip().lower(),
                        "contact_id": row.contact_id,
                        "outbox_item_id": row.id,
                        "answer": answers[row.id][:2000],
                        "bounced_at": now,
                    }
                    for row in rows
                ],
            )

    def _templates_for(self, session: Session, batch: Sequence[Claimed]) -> dict[int, MessageTemplate | str]:
        """The rendered template (or why it cannot be built) for each message in ``batch``."""
        found: dict[int, MessageTemplate | str] = {}
        for message_id in {item.message_id for item in batch}:
            try:
                found[message_id] = self.template(session, message_id)
            except Exception as exc:  # one broken message must not stop the others
                log.exception("could not build outgoing message %s", message_id)
                found[message_id] = f"Kunde inte bygga brevet: {exc}"
        return found

    def template(self, session: Session, message_id: int) -> MessageTemplate:
        cached = self._templates.get(message_id)
        if cached is not None:
            self._templates.move_to_end(message_id)
            return cached
        message = session.get(OutgoingMessage, message_id)
        if message is None:
            raise LookupError(f"outgoing message {message_id} is gone")
        built = MessageTemplate.build(
            sender=message.sender or self.settings.default_sender,
            subject=message.subject,
            text_body=message.text_body,
            html_body=message.html_body,
            headers=message.headers,
            attachments=message.attachments,
        )
        self._templates[message_id] = built
        while len(self._templates) > self.settings.template_cache:
            self._templates.popitem(last=False)
        return built

    def _retry_or_fail(self, outcome: _Outcome, item: Claimed, error: str) -> None:
        if item.attempts >= self.settings.max_attempts:
            outcome.failed.append((item.id, f"Gav upp efter {item.attempts} försök. Senast: {error}"))
        else:
            delay = backoff_delay(
                item.attempts, self.settings.backoff_seconds, self.settings.backoff_max_seconds
            )
            outcome.retrying.append((item.id, self.clock() + timedelta(seconds=delay), error))
