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
    Parameters in order: now, claimer, now, stale_before, limit (``"libpq"``: $1 now,
    $2 claimer, $3 stale_before, $4 limit). On PostgreSQL rows another worker is
    claiming right now are skipped, not waited for.
    """
    t, c = ITEMS.name, ITEMS.c
    sending = DeliveryState.sending.name
    if dialect == "libpq":
        now, claimer, stale, limit = "$1", "$2", "$3", "$4"
    else:
        now = claimer = stale = limit = "%s" if dialect == "postgresql" else "?"
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
    lock = "" if dialect == "sqlite" else " FOR UPDATE SKIP LOCKED"
    return (
        f"UPDATE {t} SET {c.state.name} = '{sending}', {c.attempts.name} = {c.attempts.name} + 1, "  # noqa: S608 - our names only
        f"{c.claimed_at.name} = {now}, {c.claimed_by.name} = {claimer} "
        f"WHERE {c.id.name} IN (SELECT {c.id.name} FROM {t} "
        # Verbatim first term: the partial index's predicate.
        f"WHERE {PENDING_PREDICATE} AND (({c.state.name} != '{sending}' AND "
        f"({c.next_attempt_at.name} IS NULL OR {c.next_attempt_at.name} <= {now})) OR "
        f"({c.state.name} = '{sending}' AND {c.claimed_at.name} < {stale})) "
        f"ORDER BY {c.priority.name}, {c.id.name} LIMIT {limit}{lock}) RETURNING {returning}"
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
_CLAIM_STATEMENT = b"commsplan_claim"


class _PgChannel:
    """A PostgreSQL connection of the drain's own, driven without waiting.

    Autocommit (each statement is its own transaction), statements prepared once per
    connection and run through libpq directly (psycopg's cursor spent four times the
    CPU of the mark adapting its parameters), sent with libpq's asynchronous API while
    the connection's socket sits in the drain's selector with ``owner`` as its data: the
    loop goes on with the SMTP connections and ``on_readable`` hands over the result
    when it has come. One statement at a time.

    Commits use ``synchronous_commit=off``: a commit is visible at once and survives a
    crash of this worker, which is what claims and marks are for; only a crash of the
    database server itself could lose the last fraction of a second of them, which would
    put claimed rows back in the queue or send marked mails again, never lose a mail.
    """

    def __init__(
        self, engine: Engine, selector: selectors.BaseSelector, owner: object, statements: dict[bytes, str]
    ):
        self.busy = False
        self.selector = selector
        self._connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        driver = self._connection.connection.driver_connection
        driver.execute("SET synchronous_commit TO off")
        self._pq = driver.pgconn
        for name, sql in statements.items():
            prepared = self._pq.prepare(name, sql.encode())
            state = prepared.error_field(pq.DiagnosticField.SQLSTATE)
            if prepared.status != pq.ExecStatus.COMMAND_OK and state != b"42P05":  # 42P05: prepared before
                raise RuntimeError(prepared.error_message.decode("utf-8", "replace"))
        selector.register(self._pq.socket, selectors.EVENT_READ, owner)

    def send(self, statement: bytes, values: Sequence[bytes]) -> None:
        assert not self.busy, "one statement at a time"
        self._pq.send_query_prepared(statement, values)  # blocking mode: written out in full
        self.busy = True

    def on_readable(self) -> Any:
        """The statement's result once it has come (raises if it failed), else None."""
        self._pq.consume_input()
        return None if self._pq.is_busy() else self._finish()

    def _finish(self) -> Any:
        """Collect the statement's results, waiting for them if need be."""
        error = found = None
        while (result := self._pq.get_result()) is not None:
            if result.status in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK):
                found = result
            else:
                error = result.error_message.decode("utf-8", "replace")
        self.busy = False
        if error is not None:
            raise RuntimeError(error)
        return found

    def close(self) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(self._pq.socket)
        with contextlib.suppress(Exception):  # back to the pool as it came
            if self.busy:
                self._finish()
            self._connection.connection.driver_connection.execute("RESET synchronous_commit")
        self._connection.close()


class _SentRecorder:
    """Marks rows sent on a database connection of its own, in autocommit mode.

    This is the hot path of the group commit: one ``UPDATE … WHERE id IN (…)`` is one
    statement and one commit (a single round trip on PostgreSQL), its SQL text is built
    once per number of ids so the driver's statement cache (sqlite3) or prepared
    statements (psycopg) skip parsing, and no ORM object is made.

    On SQLite a mark is done when ``start`` returns. On PostgreSQL ``start`` only sends
    it (``_PgChannel``) and the drain goes on with the other connections until
    ``on_readable`` reports it committed: waiting for each round trip stalled every
    connection (issue 10's benchmark).
    """

    def __init__(self, engine: Engine, claimer: str, selector: selectors.BaseSelector) -> None:
        self.engine = engine
        self.claimer = claimer
        self.dialect = engine.dialect
        self.selector = selector
        self.in_flight = 0  # ids sent to PostgreSQL whose commit has not been reported
        # PostgreSQL: a mark goes out as soon as there is one to make, so its round trip
        # overlaps the connection's next commands; the marks accepted meanwhile go with the next.
        self.eager = self.dialect.name == "postgresql"
        self._bind_now = ITEMS.c.sent_at.type.bind_processor(engine.dialect) or (lambda value: value)
        self._connection: Any = None
        self._raw: Any = None  # SQLite: the connection's cursor
        self._channel: _PgChannel | None = None
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

    def start(self, ids: Sequence[int], now: datetime) -> bool:
        """Record ``ids`` as sent; True if that is done, False if ``on_readable`` will say."""
        assert not self.in_flight, "one mark at a time"
        stamp = self._bind_now(now)
        if self.dialect.name == "postgresql":
            if self._channel is None:
                self._channel = _PgChannel(
                    self.engine, self.selector, self, {_MARK_STATEMENT: self._statement(0)}
                )
            ids_array = b"{%s}" % b",".join(b"%d" % i for i in ids)
            self._channel.send(
                _MARK_STATEMENT, [stamp.isoformat().encode(), self.claimer.encode(), ids_array]
            )
            self.in_flight = len(ids)
            return False
        if self._raw is None:
            self._connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            # One cursor for every mark: making one per statement cost more than the UPDATE.
            self._raw = self._connection.connection.driver_connection.cursor()
        self._raw.execute(self._statement(len(ids)), (stamp, self.claimer, *ids))
        return True

    def on_readable(self) -> int:
        """PostgreSQL answered: how many ids the mark in flight committed (0: not yet)."""
        assert self._channel is not None
        if self._channel.on_readable() is None:
            return 0
        count, self.in_flight = self.in_flight, 0
        return count

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self._connection is not None:
            connection, raw = self._connection, self._raw
            self._connection, self._raw = None, None
            with contextlib.suppress(Exception):
                raw.close()
            connection.close()


class _ClaimAhead:
    """PostgreSQL: the next batch is claimed while the mails of the last one are sent.

    The claim is the same statement as ``Deliverer.claim``'s, run on a ``_PgChannel``; on
    a large queue it took about a third of the drain's time, during which no connection
    was served. Not used with ``DELIVERY_MAX_PER_DAY``, whose quota row is locked in the
    claim's transaction.
    """

    def __init__(self, engine: Engine, claimer: str, selector: selectors.BaseSelector, lease: timedelta):
        self.claimer = claimer.encode()
        self.lease = lease
        self._bind_time = ITEMS.c.claimed_at.type.bind_processor(engine.dialect) or (lambda value: value)
        self._channel = _PgChannel(engine, selector, self, {_CLAIM_STATEMENT: _claim_sql("libpq")})

    @property
    def in_flight(self) -> bool:
        return self._channel.busy

    def start(self, now: datetime, limit: int) -> None:
        stamp, stale = self._bind_time(now), self._bind_time(now - self.lease)
        self._channel.send(
            _CLAIM_STATEMENT,
            [stamp.isoformat().encode(), self.claimer, stale.isoformat().encode(), b"%d" % limit],
        )

    def on_readable(self) -> list[Claimed] | None:
        """The claimed rows once PostgreSQL has answered, else None."""
        result = self._channel.on_readable()
        if result is None:
            return None
        claimed_at = time.monotonic()
        claimed = []
        for i in range(result.ntuples):
            value = functools.partial(result.get_value, i)
            claimed.append(
                Claimed(
                    int(value(0)),
                    int(value(1)),
                    value(2).decode(),
                    value(3).decode(),
                    json.loads(value(4) or b"null") or {},
                    value(5).decode(),
                    int(value(6)),
                    int(value(7)),
                    claimed_at,
                )
            )
        return claimed  # in no particular order: the drain's heap orders them

    def close(self) -> None:
        self._channel.close()


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
        covered: list[SmtpPipe] = []  # the connections whose mails the mark in flight records
        slots: list[tuple[float, bool] | None] = [None] * len(pipes)  # rate limits: see _slot_open
        paced = bool(self._worker_pacer.interval or any(p.interval for p in self._connection_pacers))
        recorder = _SentRecorder(self.engine, self.name, selector)
        ahead: _ClaimAhead | None = None
        busy, check_deadlines_at = False, 0.0
        try:
            if self.engine.dialect.name == "postgresql" and not settings.max_per_day:
                ahead = _ClaimAhead(self.engine, self.name, selector, settings.lease)
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
                    want_more = (
                        not (exhausted or halted or (ahead and ahead.in_flight))
                        and len(ready) < settings.batch_size
                    )
                    flush_due = waiting >= settings.batch_size or (
                        waiting and (not (busy or ready) or now - last_flush > 0.5)
                    )
                    if want_more or flush_due:
                        self._record(session, self.name, pending, commit=False)
                        if want_more and ahead is not None:
                            ahead.start(self.clock(), settings.batch_size)
                        elif want_more:
                            batch = self.claim(session, self.name, commit=False)
                            exhausted = self._take(session, batch, ready, total)
                        session.commit()
                        total.absorb(pending)
                        pending, last_flush = _Outcome(), now
                    if ready and not halted:
                        for index, pipe in enumerate(pipes):
                            while pipe.free and ready and unreachable is None:
                                if paced and not self._slot_open(slots, index, now):
                                    break
                                item, template = heapq.heappop(ready)[2:]
                                unreachable = self._start(pipe, item, template, pending, budget)
                    if (
                        accepted
                        and not recorder.in_flight
                        and (
                            recorder.eager
                            or any(owes[pipe] and pipe.phase is Phase.ready for pipe in pipes)
                            or not busy
                            or now - accepted_since > RECORD_WITHIN
                        )
                    ):
                        # Before the final dot of a connection whose last mail is not
                        # recorded: each connection then has at most one mail the server
                        # holds and the database does not know about.
                        covered = [pipe for pipe in pipes if owes[pipe]]
                        if recorder.start(accepted, self.clock()):
                            self._recorded(total, len(accepted), last_accepted, owes, covered)
                        accepted = []
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
                    on_database = bool(recorder.in_flight or (ahead and ahead.in_flight))
                    if finished and not (busy or ready or accepted or on_database):
                        break  # (accepted mails are recorded in the next turn)
                    timeout = self._timeout(slots, busy or on_database, bool(ready), now)
                    for key, _mask in selector.select(timeout):
                        if key.data is recorder:
                            if recorded := recorder.on_readable():
                                self._recorded(total, recorded, last_accepted, owes, covered)
                            continue
                        if key.data is ahead:
                            if (batch := ahead.on_readable()) is not None:
                                exhausted = self._take(session, batch, ready, total)
                                session.commit()  # ends the read of new messages, if any
                            continue
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
            recorder.close()
            if ahead is not None:
                ahead.close()
            selector.close()
        total.connection_failed = unreachable is not None
        return total

    def _take(
        self,
        session: Session,
        batch: list[Claimed],
        ready: list[tuple[int, int, Claimed, MessageTemplate | str]],
        total: DrainResult,
    ) -> bool:
        """Queue a claimed batch for sending, urgent first; True if it was empty (all claimed)."""
        templates = self._templates_for(session, batch)
        if not total.claimed and len(batch) >= self.settings.batch_size:
            self._refresh_statistics()  # a fan-out has just been queued
        total.claimed += len(batch)
        for claimed in batch:
            heapq.heappush(ready, (claimed.priority, claimed.id, claimed, templates[claimed.message_id]))
        return not batch

    @staticmethod
    def _recorded(
        total: DrainResult,
        count: int,
        last_accepted: float,
        owes: dict[SmtpPipe, bool],
        covered: list[SmtpPipe],
    ) -> None:
        """A mark committed: its mails are sent, its connections may send their next final dot."""
        total.sent += count
        total.last_accepted = last_accepted
        for pipe in covered:
            owes[pipe] = False

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
