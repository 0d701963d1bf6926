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

The SMTP side (``commsplan.delivery.smtp``) is one thread driving all connections
without waiting on any of them.

The rendered-template cache lives on the ``Deliverer`` instance, i.e. per process; it
holds derived, immutable data, so two worker processes each having one is harmless.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import json
import logging
import os
import random
import selectors
import socket
import threading
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import formataddr
from typing import Any

from flask import Flask
from psycopg import pq
from sqlalchemy import Engine, and_, bindparam, insert, select, update
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
from commsplan.delivery.smtp import ConnectFailed, Event, Phase, SmtpPipe, SmtpSettings, describe
from commsplan.timeutil import utcnow

log = logging.getLogger(__name__)

# Defaults for ``app.config``; every one can be set as COMMSPLAN_<NAME>.
DEFAULTS: dict[str, Any] = {
    "DELIVERY_MAX_ATTEMPTS": 10,
    "DELIVERY_CONNECTIONS": 4,  # bench/fanout.py: 2 → 4 gave a third more on 2 cores
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
# A mail the server accepted is recorded as sent at the latest this many seconds later
# (sooner when its connection's next mail is ready for its final dot).
RECORD_WITHIN = 0.2


@dataclass(frozen=True)
class DeliverySettings(SmtpSettings):
    default_sender: str
    max_attempts: int
    connections: int
    batch_size: int
    lease: timedelta
    backoff_seconds: float
    backoff_max_seconds: float
    poll_seconds: float
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
        """Count outcomes written with a claim (sent mails are counted as they are marked)."""
        self.retrying += len(outcome.retrying)
        self.failed += len(outcome.failed)
        self.released += len(outcome.released)


@dataclass(slots=True)
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
    """What happened to claimed rows other than being sent (``_SentRecorder`` marks those)."""

    retrying: list[tuple[int, datetime, str]] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    # The subset of ``failed`` the server refused permanently (5xx): the address is flagged.
    bounced: list[tuple[int, str]] = field(default_factory=list)
    released: list[int] = field(default_factory=list)
    # Released rows per day they were counted on (DELIVERY_MAX_PER_DAY): given back.
    given_back: Counter[date] = field(default_factory=Counter)

    @property
    def count(self) -> int:
        return len(self.retrying) + len(self.failed) + len(self.released)


# The statements are built once; building and cache-keying them per batch showed up in
# profiles. They are immutable, so sharing them between threads and workers is safe.
_OURS = and_(ITEMS.c.claimed_by == bindparam("claimer"), ITEMS.c.state == DeliveryState.sending)


@functools.cache
def _claim_sql(dialect: str) -> str:
    """The claim as one ``UPDATE … RETURNING`` in the driver's own SQL.

    Hand-written, like ``_SentRecorder``'s mark: through the ORM/Core layer the claim
    cost about as much per row as the rest of sending a mail (issue 10's benchmark).
    Parameters in order: now, claimer, now, stale_before, limit. On PostgreSQL rows
    another worker is claiming right now are skipped, not waited for.
    """
    t, c = ITEMS.name, ITEMS.c
    sending = DeliveryState.sending.name
    p = "%s" if dialect == "postgresql" else "?"
    returning = ", ".join(
        column.name
        for column in (
            c.id,
            c.message_id,
            c.to_address,
            c.to_name,
            c.personalisation,
            c.message_id_header,
            c.attempts,
            c.priority,
        )
    )
    lock = " FOR UPDATE SKIP LOCKED" if dialect == "postgresql" else ""
    return (
        f"UPDATE {t} SET {c.state.name} = '{sending}', {c.attempts.name} = {c.attempts.name} + 1, "  # noqa: S608 - our names only
        f"{c.claimed_at.name} = {p}, {c.claimed_by.name} = {p} "
        f"WHERE {c.id.name} IN (SELECT {c.id.name} FROM {t} "
        # Verbatim first term: the partial index's predicate.
        f"WHERE {PENDING_PREDICATE} AND (({c.state.name} != '{sending}' AND "
        f"({c.next_attempt_at.name} IS NULL OR {c.next_attempt_at.name} <= {p})) OR "
        f"({c.state.name} = '{sending}' AND {c.claimed_at.name} < {p})) "
        f"ORDER BY {c.priority.name}, {c.id.name} LIMIT {p}{lock}) RETURNING {returning}"
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


_MARK_STATEMENT = b"commsplan_mark_sent"


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
        self._pq: Any = None  # PostgreSQL: the connection's libpq handle
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
                # libpq's own placeholders: the statement is prepared and run below psycopg.
                sql = (head % {"p": "$%d"}) % (1, 2) + f"{c.id.name} = ANY($3::integer[])"
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
            # Prepared once per connection and run through libpq directly: psycopg's
            # cursor spent four times the CPU of the statement adapting its parameters.
            self._pq = self._connection.connection.driver_connection.pgconn
            prepared = self._pq.prepare(_MARK_STATEMENT, self._statement(0).encode())
            state = prepared.error_field(pq.DiagnosticField.SQLSTATE)
            if prepared.status != pq.ExecStatus.COMMAND_OK and state != b"42P05":  # 42P05: prepared before
                raise RuntimeError(prepared.error_message.decode("utf-8", "replace"))

    def mark_sent(self, ids: Sequence[int], now: datetime) -> None:
        if self._raw is None:
            self._open()
        stamp = self._bind_now(now)
        if self.dialect.name == "postgresql":
            values = [
                stamp.isoformat().encode(),
                self.claimer.encode(),
                b"{%s}" % b",".join(b"%d" % i for i in ids),
            ]
            result = self._pq.exec_prepared(_MARK_STATEMENT, values)
            if result.status != pq.ExecStatus.COMMAND_OK:
                raise RuntimeError(result.error_message.decode("utf-8", "replace"))
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


class Deliverer:
    """Drains the outbox over ``settings.connections`` SMTP connections, from one thread."""

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
        # Only the draining thread touches it.
        self._templates: OrderedDict[int, MessageTemplate] = OrderedDict()
        self._bind_time = ITEMS.c.claimed_at.type.bind_processor(engine.dialect) or (lambda value: value)
        self._analysed_until = 0.0  # see _refresh_statistics
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

        One thread drives ``settings.connections`` SMTP connections (``SmtpPipe``) with
        ``selectors``: it claims rows a batch at a time (at most about two batches ahead,
        urgent ones first), starts a mail on every free connection, and reads whichever
        server answers first.

        A crash (SIGKILL, power loss) sends at most one mail per connection twice: no
        final dot goes out on a connection whose previous accepted mail is not yet
        recorded as sent. When a connection's next mail is ready for its body (the
        server said 354) and its previous mail is not recorded, every mail accepted so
        far, on any connection, is recorded in one autocommitted ``UPDATE`` (a group
        commit) before that body goes out. Recording only when a connection needs it
        makes each commit cover about one mail per connection. The rarer outcomes
        (retrying, failed, released) are written together with the next claim. Rows
        claimed but not sent wait for the lease after a crash. ``stop`` ends the drain
        after the mails being sent; rows claimed but not started are handed back unsent.
        """
        stop = stop or threading.Event()
        total = DrainResult()
        settings = self.settings
        budget = settings.lease.total_seconds() / 2  # give rows back well inside the lease
        ready: list[tuple[int, int, Claimed, MessageTemplate | str]] = []  # a heap: urgent first
        pending = _Outcome()  # outcomes other than "sent", written with the next claim
        accepted: list[int] = []  # accepted by the server, not yet recorded
        accepted_since = last_accepted = 0.0
        exhausted = False
        unreachable: str | None = None
        last_flush = time.monotonic()
        selector = selectors.DefaultSelector()
        pipes = [SmtpPipe(settings, selector) for _ in range(settings.connections)]
        owes = dict.fromkeys(pipes, False)  # its last accepted mail is not recorded yet
        slots: list[tuple[float, bool] | None] = [None] * len(pipes)  # rate limits: see _slot_open
        paced = bool(self._worker_pacer.interval or any(p.interval for p in self._connection_pacers))
        recorder = _SentRecorder(self.engine, self.name)
        busy, check_deadlines_at = False, 0.0
        try:
            with Session(self.engine) as session:
                while True:
                    now = time.monotonic()
                    halted = stop.is_set() or unreachable is not None
                    while halted and ready:
                        item = heapq.heappop(ready)[2]
                        if unreachable is not None:
                            self._retry_or_fail(pending, item, unreachable)
                        else:
                            self._release(pending, item)
                    waiting = pending.count
                    want_more = not (exhausted or halted) and len(ready) < settings.batch_size
                    flush_due = waiting >= settings.batch_size or (
                        waiting and (not (busy or ready) or now - last_flush > 0.5)
                    )
                    if want_more or flush_due:
                        self._record(session, self.name, pending, commit=False)
                        batch = self.claim(session, self.name, commit=False) if want_more else []
                        templates = self._templates_for(session, batch)
                        session.commit()
                        total.absorb(pending)
                        pending, last_flush = _Outcome(), now
                        exhausted = exhausted or (want_more and not batch)
                        if not total.claimed and len(batch) >= settings.batch_size:
                            self._refresh_statistics()  # a fan-out has just been queued
                        total.claimed += len(batch)
                        for claimed in batch:
                            heapq.heappush(
                                ready, (claimed.priority, claimed.id, claimed, templates[claimed.message_id])
                            )
                    if ready and not halted:
                        for index, pipe in enumerate(pipes):
                            while pipe.free and ready and unreachable is None:
                                if paced and not self._slot_open(slots, index, now):
                                    break
                                item, template = heapq.heappop(ready)[2:]
                                unreachable = self._start(pipe, item, template, pending, budget)
                    if accepted and (
                        any(owes[pipe] and pipe.phase is Phase.ready for pipe in pipes)
                        or not busy
                        or now - accepted_since > RECORD_WITHIN
                    ):
                        # Before the final dot of a connection whose last mail is not
                        # recorded: each connection then has at most one mail the server
                        # holds and the database does not know about.
                        recorder.mark_sent(accepted, self.clock())
                        total.sent += len(accepted)
                        total.last_accepted = last_accepted
                        accepted = []
                        owes = dict.fromkeys(pipes, False)
                    for pipe in pipes:
                        if pipe.phase is Phase.ready and not owes[pipe]:
                            if stop.is_set():
                                self._release(pending, pipe.job)
                                pipe.drop()  # before its dot: the server discards the mail
                                continue
                            item = pipe.job
                            try:
                                pipe.send_body()
                            except OSError as exc:
                                self._retry_or_fail(pending, item, describe(exc))
                    busy = any(pipe.busy for pipe in pipes)
                    finished = exhausted or stop.is_set() or unreachable is not None
                    if finished and not (busy or ready or accepted):  # the next turn records those
                        break
                    timeout = self._timeout(slots, busy, bool(ready), now)
                    for key, _mask in selector.select(timeout):
                        for event in key.data.on_readable():
                            if event.kind == "accepted":
                                if not accepted:
                                    accepted_since = event.at
                                accepted.append(event.job.id)
                                owes[key.data] = True
                                last_accepted = max(last_accepted, event.at)
                            else:
                                self._failed(pending, event)
                    now = time.monotonic()
                    if now >= check_deadlines_at:  # deadlines are seconds long: no need to look every turn
                        check_deadlines_at = now + 0.05
                        for pipe in pipes:
                            if pipe.busy and pipe.phase is not Phase.ready and now > pipe.deadline:
                                for event in pipe.timed_out():
                                    self._failed(pending, event)
                self._record(session, self.name, pending)
                total.absorb(pending)
        except Exception as exc:  # claimed rows come back after the lease
            log.exception("delivery worker %s stopped", self.name)
            total.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            for pipe in pipes:
                pipe.close()
            selector.close()
            recorder.close()
        total.connection_failed = unreachable is not None
        return total

    def _refresh_statistics(self) -> None:
        """PostgreSQL: ``ANALYZE outbox_item`` when a drain starts on a large backlog.

        Right after a fan-out is queued the table's statistics still say "few pending
        rows" until autovacuum comes by, and the planner then fetches and sorts every
        pending row for each claim, and scans the pending index for each mark, instead
        of walking the indexes (a 10,000-mail fan-out: 2.5 ms per claim of 50 rows and
        0.4 ms per mark, growing with the queue). Analysing takes tens of milliseconds;
        at most once a minute per worker.
        """
        if self.engine.dialect.name != "postgresql" or time.monotonic() < self._analysed_until:
            return
        self._analysed_until = time.monotonic() + 60
        try:
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql(f"ANALYZE {ITEMS.name}")
        except Exception:  # only a plan gets worse; sending goes on
            log.warning("could not analyse %s", ITEMS.name, exc_info=True)

    def _start(
        self, pipe: SmtpPipe, item: Claimed, template: MessageTemplate | str, pending: _Outcome, budget: float
    ) -> str | None:
        """Begin ``item`` on ``pipe``, or record why not; returns an error if the server is unreachable."""
        if item.attempts > self.settings.max_attempts:
            # Claimed again and again without an outcome: a worker dies on this row.
            pending.failed.append((item.id, f"Gav upp efter {item.attempts - 1} försök."))
        elif not valid_address(item.to_address):
            pending.failed.append((item.id, INVALID_ADDRESS_ERROR))
        elif isinstance(template, str):
            pending.failed.append((item.id, template))
        elif time.monotonic() - item.claimed_at > budget:
            self._release(pending, item)  # waited too long: hand it back rather than leave it to the lease
        else:
            try:
                data = template.render_wire(
                    Recipient(item.to_address, item.to_name, item.message_id_header, item.personalisation)
                )
            except Exception as exc:  # a broken message must not stop the others
                log.exception("could not render outbox item %s", item.id)
                pending.failed.append((item.id, f"Kunde inte bygga brevet: {exc}"))
                return None
            try:
                pipe.start(template.envelope_from, item.to_address, data, item)
            except ConnectFailed as exc:
                # Without a connection the rest would fail the same way, slowly.
                self._retry_or_fail(pending, item, str(exc))
                return str(exc)
            except OSError as exc:
                self._retry_or_fail(pending, item, describe(exc))
        return None

    def _failed(self, pending: _Outcome, event: Event) -> None:
        item: Claimed = event.job
        if event.permanent:
            pending.failed.append((item.id, event.text))
            pending.bounced.append((item.id, event.text))
        else:
            self._retry_or_fail(pending, item, event.text)

    @staticmethod
    def _release(pending: _Outcome, item: Claimed) -> None:
        pending.released.append(item.id)
        if item.claimed_day is not None:
            pending.given_back[item.claimed_day] += 1

    def _slot_open(self, slots: list[tuple[float, bool] | None], index: int, now: float) -> bool:
        """Whether connection ``index`` may start a mail now (the relay's rate limits).

        The connection's own slot is taken first, then the worker's, as a sender waiting
        for each in turn would; ``slots[index]`` is the time being waited for and whether
        the worker's slot is already taken.
        """
        connection, worker = self._connection_pacers[index], self._worker_pacer
        if not (connection.interval or worker.interval):
            return True
        at, worker_taken = slots[index] or (now + connection.reserve(), False)
        if at <= now and not worker_taken:
            delay = worker.reserve()
            at, worker_taken = now + delay, True
        if at > now:
            slots[index] = (at, worker_taken)
            return False
        slots[index] = None
        return True

    @staticmethod
    def _timeout(
        slots: Sequence[tuple[float, bool] | None], busy: bool, has_ready: bool, now: float
    ) -> float:
        """How long the loop may wait for an answer before it has something else to do."""
        if not (busy or has_ready):
            return 0.0  # claim more, or finish
        waits = [slot[0] - now for slot in slots if slot is not None] if has_ready else []
        return max(0.0, min([0.05, *waits]))  # a stop request or a deadline is noticed this fast

    # -- database ------------------------------------------------------------------

    def claim(
        self, session: Session, claimer: str, limit: int | None = None, *, commit: bool = True
    ) -> list[Claimed]:
        """Mark up to ``limit`` due rows as ours; the claim is committed before sending."""
        now = self.clock()
        dialect = session.get_bind().dialect.name
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
        rows: list[Any] = []
        if limit > 0:
            stamp = self._bind_time(now)
            # A cursor on the session's connection: the claim is part of its transaction.
            cursor = session.connection().connection.driver_connection.cursor()
            try:
                if dialect == "postgresql":
                    # A claim lost to a crash of the database server itself puts its rows
                    # back in the queue, to be sent again, never lost (as with the marks).
                    cursor.execute("SET LOCAL synchronous_commit = off")
                cursor.execute(
                    _claim_sql(dialect),
                    (stamp, claimer, stamp, self._bind_time(now - self.settings.lease), limit),
                )
                rows = cursor.fetchall()
            finally:
                cursor.close()
        if day is not None and rows:
            session.execute(_COUNT_DAY, {"b_day": day, "n": len(rows)})
        if commit:
            session.commit()
        claimed_at = time.monotonic()
        claimed = [
            Claimed(
                row[0],
                row[1],
                row[2],
                row[3],
                # sqlite3 returns JSON as text, psycopg decodes it
                (json.loads(row[4]) if isinstance(row[4], str) else row[4]) or {},
                row[5],
                row[6],
                row[7],
                claimed_at,
                day,
            )
            for row in rows
        ]
        claimed.sort(key=lambda c: (c.priority, c.id))
        return claimed

    def _record(self, session: Session, claimer: str, outcome: _Outcome, *, commit: bool = True) -> None:
        """Write outcomes, only for rows this worker still owns."""
        now = self.clock()
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
