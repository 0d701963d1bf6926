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

Why smtplib rather than Flask-Mail's ``Connection``: Flask-Mail builds each mail as a
``flask_mail.Message`` (we send pre-rendered bytes), opens connections without a socket
timeout (a hung server would hang the worker), and raises without telling connection
errors from the server's answer. We use Flask-Mail's settings (``MAIL_SERVER``,
``MAIL_PORT``, ``MAIL_USE_TLS``, ``MAIL_USE_SSL``, ``MAIL_USERNAME``, ``MAIL_PASSWORD``,
``MAIL_DEFAULT_SENDER``) so there is one mail configuration.

The rendered-template cache lives on the ``Deliverer`` instance, i.e. per process; it
holds derived, immutable data, so two worker processes each having one is harmless.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import smtplib
import socket
import ssl
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import formataddr
from typing import Any

from flask import Flask
from sqlalchemy import Engine, and_, bindparam, or_, select, update
from sqlalchemy.orm import Session

from commsplan.delivery.mime import MessageTemplate, Recipient
from commsplan.delivery.models import DeliveryState, OutboxItem, OutgoingMessage
from commsplan.timeutil import utcnow

log = logging.getLogger(__name__)

# Defaults for ``app.config``; every one can be set as COMMSPLAN_<NAME>.
DEFAULTS: dict[str, Any] = {
    "DELIVERY_MAX_ATTEMPTS": 10,
    "DELIVERY_CONNECTIONS": 4,
    "DELIVERY_BATCH_SIZE": 50,
    "DELIVERY_LEASE_SECONDS": 300,
    "DELIVERY_BACKOFF_SECONDS": 30,
    "DELIVERY_BACKOFF_MAX_SECONDS": 3600,
    "DELIVERY_POLL_SECONDS": 2.0,
    "DELIVERY_SMTP_TIMEOUT": 30,
    "DELIVERY_TEMPLATE_CACHE": 64,
}

ITEMS = OutboxItem.__table__
CLAIMABLE_STATES = (DeliveryState.queued, DeliveryState.retrying)


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

    def merge(self, other: DrainResult) -> None:
        self.claimed += other.claimed
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed
        self.released += other.released
        self.connection_failed |= other.connection_failed
        if other.last_accepted is not None:
            self.last_accepted = max(self.last_accepted or 0.0, other.last_accepted)
        self.errors.extend(other.errors)


class ConnectFailed(Exception):
    """Could not open (or set up) a connection to the mail server."""


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

    def send(self, envelope_from: str, to: str, data: bytes) -> None:
        if self.smtp is None:
            self.smtp = self._connect()
        smtp = self.smtp
        options = ["BODY=8BITMIME"] if smtp.has_extn("8bitmime") else []
        try:
            smtp.sendmail(envelope_from, [to], data, mail_options=options)
        except (OSError, smtplib.SMTPServerDisconnected):
            self.close()
            raise
        except smtplib.SMTPException:
            if smtp.sock is None:  # smtplib closes on 421
                self.smtp = None
            raise

    def close(self) -> None:
        if self.smtp is not None:
            smtp, self.smtp = self.smtp, None
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                _close_quietly(smtp)


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


@dataclass
class _Outcome:
    sent: list[int] = field(default_factory=list)
    retrying: list[tuple[int, datetime, str]] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    released: list[int] = field(default_factory=list)
    connection_failed: bool = False
    last_accepted: float | None = None


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
        self._templates: OrderedDict[int, MessageTemplate] = OrderedDict()
        self._templates_lock = threading.Lock()

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
        """Send everything that is due now, then return. ``stop`` ends it after the
        batches in flight."""
        stop = stop or threading.Event()
        total = DrainResult()
        lock = threading.Lock()

        def run(index: int) -> None:
            result = self._run_sender(f"{self.name}/{index}", stop)
            with lock:
                total.merge(result)

        if self.settings.connections == 1:
            run(0)
            return total
        threads = [
            threading.Thread(target=run, args=(i,), name=f"commsplan-sender-{i}", daemon=True)
            for i in range(self.settings.connections)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return total

    def _run_sender(self, claimer: str, stop: threading.Event) -> DrainResult:
        result = DrainResult()
        connection = SmtpConnection(self.settings)
        try:
            with Session(self.engine) as session:
                while not stop.is_set():
                    batch = self.claim(session, claimer)
                    if not batch:
                        break
                    result.claimed += len(batch)
                    outcome = self._send_batch(session, connection, batch)
                    self._record(session, claimer, outcome)
                    result.sent += len(outcome.sent)
                    result.retrying += len(outcome.retrying)
                    result.failed += len(outcome.failed)
                    result.released += len(outcome.released)
                    if outcome.last_accepted is not None:
                        result.last_accepted = outcome.last_accepted
                    if outcome.connection_failed:
                        result.connection_failed = True
                        break
        except Exception as exc:  # claimed rows come back after the lease
            log.exception("delivery sender %s stopped", claimer)
            result.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()
        return result

    # -- database ------------------------------------------------------------------

    def claim(self, session: Session, claimer: str, limit: int | None = None) -> list[Claimed]:
        """Mark up to ``limit`` due rows as ours and commit before anything is sent."""
        now = self.clock()
        due = or_(
            and_(
                ITEMS.c.state.in_(CLAIMABLE_STATES),
                or_(ITEMS.c.next_attempt_at.is_(None), ITEMS.c.next_attempt_at <= now),
            ),
            and_(ITEMS.c.state == DeliveryState.sending, ITEMS.c.claimed_at < now - self.settings.lease),
        )
        candidates = (
            select(ITEMS.c.id).where(due).order_by(ITEMS.c.id).limit(limit or self.settings.batch_size)
        )
        if session.get_bind().dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        statement = (
            update(ITEMS)
            .where(ITEMS.c.id.in_(candidates.scalar_subquery()))
            .values(
                state=DeliveryState.sending,
                claimed_at=now,
                claimed_by=claimer,
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
            )
        )
        rows = session.execute(statement).all()
        session.commit()
        claimed = [Claimed(*row) for row in rows]
        claimed.sort(key=lambda c: c.id)
        return claimed

    def _record(self, session: Session, claimer: str, outcome: _Outcome) -> None:
        now = self.clock()
        ours = and_(ITEMS.c.claimed_by == claimer, ITEMS.c.state == DeliveryState.sending)
        if outcome.sent:
            session.execute(
                update(ITEMS)
                .where(ITEMS.c.id.in_(outcome.sent), ours)
                .values(state=DeliveryState.sent, sent_at=now, next_attempt_at=None, last_error="")
            )
        if outcome.retrying:
            session.execute(
                update(ITEMS)
                .where(ITEMS.c.id == bindparam("b_id"), ours)
                .values(
                    state=DeliveryState.retrying,
                    next_attempt_at=bindparam("b_next", type_=ITEMS.c.next_attempt_at.type),
                    last_error=bindparam("b_error"),
                ),
                [{"b_id": i, "b_next": when, "b_error": error} for i, when, error in outcome.retrying],
            )
        if outcome.failed:
            session.execute(
                update(ITEMS)
                .where(ITEMS.c.id == bindparam("b_id"), ours)
                .values(state=DeliveryState.failed, next_attempt_at=None, last_error=bindparam("b_error")),
                [{"b_id": i, "b_error": error} for i, error in outcome.failed],
            )
        if outcome.released:
            # Not attempted (the batch ran out of lease time): give the attempt back.
            session.execute(
                update(ITEMS)
                .where(ITEMS.c.id.in_(outcome.released), ours)
                .values(state=DeliveryState.queued, attempts=ITEMS.c.attempts - 1, claimed_at=None)
            )
        session.commit()

    def template(self, session: Session, message_id: int) -> MessageTemplate:
        with self._templates_lock:
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
        with self._templates_lock:
            self._templates[message_id] = built
            while len(self._templates) > self.settings.template_cache:
                self._templates.popitem(last=False)
        return built

    # -- sending -------------------------------------------------------------------

    def _retry_or_fail(self, outcome: _Outcome, item: Claimed, error: str) -> None:
        if item.attempts >= self.settings.max_attempts:
            outcome.failed.append((item.id, f"Gav upp efter {item.attempts} försök. Senast: {error}"))
        else:
            delay = backoff_delay(
                item.attempts, self.settings.backoff_seconds, self.settings.backoff_max_seconds
            )
            outcome.retrying.append((item.id, self.clock() + timedelta(seconds=delay), error))

    def _send_batch(self, session: Session, connection: SmtpConnection, batch: Sequence[Claimed]) -> _Outcome:
        outcome = _Outcome()
        started = time.monotonic()
        # Stop well inside the lease so no other worker reclaims rows we are still sending.
        budget = self.settings.lease.total_seconds() / 2
        for position, item in enumerate(batch):
            if time.monotonic() - started > budget:
                outcome.released.extend(i.id for i in batch[position:])
                break
            if item.attempts > self.settings.max_attempts:
                # Claimed again and again without an outcome: a worker dies on it.
                outcome.failed.append((item.id, f"Gav upp efter {item.attempts - 1} försök."))
                continue
            try:
                template = self.template(session, item.message_id)
                data = template.render(
                    Recipient(item.to_address, item.to_name, item.message_id_header, item.personalisation)
                )
            except Exception as exc:  # a broken message must not stop the others
                log.exception("could not render outbox item %s", item.id)
                outcome.failed.append((item.id, f"Kunde inte bygga brevet: {exc}"))
                continue
            try:
                connection.send(template.envelope_from, item.to_address, data)
            except ConnectFailed as exc:
                # The server is unreachable: the rest of the batch would fail the same way.
                for rest in batch[position:]:
                    self._retry_or_fail(outcome, rest, str(exc))
                outcome.connection_failed = True
                break
            except (OSError, smtplib.SMTPException) as exc:
                error = _describe(exc)
                if _is_permanent(exc):
                    outcome.failed.append((item.id, error))
                else:
                    self._retry_or_fail(outcome, item, error)
            else:
                outcome.sent.append(item.id)
                outcome.last_accepted = time.monotonic()
        return outcome
