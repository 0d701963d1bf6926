"""Putting mail in the outbox and reading how its delivery went.

``enqueue`` only adds rows to the caller's session: the caller commits them in the same
transaction as the change that causes the mail, so a notice is never published without
its mail and no mail leaves for a change that was rolled back. Sending is the worker's
job (``commsplan.delivery.worker``).
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flask import Flask, current_app
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from commsplan.delivery.mime import check_header_name, single_line
from commsplan.delivery.models import DeliveryState, OutboxItem, OutboxItemGroup, OutgoingMessage, priority_of
from commsplan.timeutil import utcnow

if TYPE_CHECKING:
    from commsplan.delivery.worker import DrainResult

# ASCII only: the sender does not speak SMTPUTF8. Deliberately simple; contacts are
# validated properly when they are entered.
_ADDRESS = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
INVALID_ADDRESS_ERROR = "Ogiltig e-postadress, skickades inte."

# States in the order the delivery view shows them.
COUNTED_STATES = (
    DeliveryState.queued,
    DeliveryState.sending,
    DeliveryState.retrying,
    DeliveryState.sent,
    DeliveryState.failed,
    DeliveryState.cancelled,
)


@dataclass(frozen=True)
class Addressee:
    email: str
    name: str = ""
    contact_id: int | None = None
    personalisation: Mapping[str, str] = field(default_factory=dict)
    reason: str = ""
    # The stakeholder groups the person is reached as (recorded for coverage).
    group_ids: Sequence[int] = ()


def message_domain(base_url: str | None = None) -> str:
    """The right-hand side of our Message-IDs: the host of BASE_URL."""
    url = base_url if base_url is not None else current_app.config["BASE_URL"]
    return urlsplit(url).hostname or "commsplan.invalid"


def new_message_id(domain: str) -> str:
    return f"<{secrets.token_hex(16)}@{domain}>"


def valid_address(address: str) -> bool:
    return len(address) <= 254 and _ADDRESS.match(address) is not None


def enqueue(
    session: Session,
    message: OutgoingMessage,
    addressees: Iterable[Addressee],
    *,
    domain: str | None = None,
) -> int:
    """Add ``message`` and one outbox row per distinct address; the caller commits.

    Addresses are compared case-insensitively; the first occurrence wins. An address
    that is not valid is stored as failed with a reason, so it shows up in the delivery
    view instead of silently disappearing. Returns the number of rows added.
    """
    message.subject = single_line(message.subject or "")
    for name in message.headers or {}:
        check_header_name(name)
    message.headers = {name: single_line(str(value)) for name, value in (message.headers or {}).items()}
    message.attachments = list(message.attachments or [])
    session.add(message)
    session.flush()  # the rows below need message.id
    domain = domain or message_domain()
    now = utcnow()
    priority = priority_of(message.kind)
    seen: set[str] = set()
    rows: list[dict[str, Any]] = []
    groups_by_address: dict[str, Sequence[int]] = {}
    for addressee in addressees:
        address = addressee.email.strip()
        key = address.lower()
        if not key or key in seen:
            continue
        seen.add(key)
        if addressee.group_ids:
            groups_by_address[address] = addressee.group_ids
        ok = valid_address(address)
        rows.append(
            {
                "message_id": message.id,
                "to_address": address,
                "to_name": single_line(addressee.name).strip()[:200],
                "contact_id": addressee.contact_id,
                "personalisation": {str(k): str(v) for k, v in addressee.personalisation.items()},
                "reason": single_line(addressee.reason)[:500],
                "state": DeliveryState.queued if ok else DeliveryState.failed,
                "attempts": 0,
                "priority": priority,
                "claimed_by": "",
                "last_error": "" if ok else INVALID_ADDRESS_ERROR,
                "message_id_header": new_message_id(domain),
                "created_at": now,
            }
        )
    if rows:
        # A core bulk insert: a notice to thousands of people must not build thousands
        # of ORM objects inside the publishing request.
        session.execute(insert(OutboxItem), rows)
    if groups_by_address:
        _record_groups(session, message.id, groups_by_address)
    return len(rows)


def _record_groups(session: Session, message_id: int, groups_by_address: Mapping[str, Sequence[int]]) -> None:
    """One row per (outbox row, group), keyed by the rows just inserted for the message."""
    items = session.execute(
        select(OutboxItem.id, OutboxItem.to_address).where(OutboxItem.message_id == message_id)
    )
    links = [
        {"outbox_item_id": item_id, "group_id": group_id}
        for item_id, address in items
        for group_id in dict.fromkeys(groups_by_address.get(address, ()))
    ]
    if links:
        session.execute(insert(OutboxItemGroup), links)


def counts_for(session: Session, source_type: str, source_id: int) -> dict[DeliveryState, int]:
    """How many rows of all messages about one source are in each state."""
    counts = dict.fromkeys(COUNTED_STATES, 0)
    rows = session.execute(
        select(OutboxItem.state, func.count())
        .join(OutgoingMessage)
        .where(OutgoingMessage.source_type == source_type, OutgoingMessage.source_id == source_id)
        .group_by(OutboxItem.state)
    )
    for state, count in rows:
        counts[state] = count
    return counts


def counts_for_messages(session: Session, message_ids: Iterable[int]) -> dict[int, dict[DeliveryState, int]]:
    ids = list(message_ids)
    result = {message_id: dict.fromkeys(COUNTED_STATES, 0) for message_id in ids}
    if not ids:
        return result
    rows = session.execute(
        select(OutboxItem.message_id, OutboxItem.state, func.count())
        .where(OutboxItem.message_id.in_(ids))
        .group_by(OutboxItem.message_id, OutboxItem.state)
    )
    for message_id, state, count in rows:
        result[message_id][state] = count
    return result


def items_for(
    session: Session,
    source_type: str,
    source_id: int,
    *,
    state: DeliveryState | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[OutboxItem]:
    """Rows of all messages about one source: problems first, then by message and address."""
    problem_first = (OutboxItem.state.in_([DeliveryState.failed, DeliveryState.retrying])).desc()
    query = (
        select(OutboxItem)
        .join(OutgoingMessage)
        .where(OutgoingMessage.source_type == source_type, OutgoingMessage.source_id == source_id)
        .order_by(problem_first, OutgoingMessage.id.desc(), OutboxItem.to_address, OutboxItem.id)
        .offset(offset)
    )
    if state is not None:
        query = query.where(OutboxItem.state == state)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def items_for_message(
    session: Session,
    message_id: int,
    *,
    state: DeliveryState | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[OutboxItem]:
    problem_first = (OutboxItem.state.in_([DeliveryState.failed, DeliveryState.retrying])).desc()
    query = (
        select(OutboxItem)
        .where(OutboxItem.message_id == message_id)
        .order_by(problem_first, OutboxItem.to_address, OutboxItem.id)
        .offset(offset)
    )
    if state is not None:
        query = query.where(OutboxItem.state == state)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def messages_for(session: Session, source_type: str, source_id: int) -> list[OutgoingMessage]:
    return list(
        session.scalars(
            select(OutgoingMessage)
            .where(OutgoingMessage.source_type == source_type, OutgoingMessage.source_id == source_id)
            .order_by(OutgoingMessage.id.desc())
        )
    )


def recent_messages(session: Session, *, limit: int = 50, offset: int = 0) -> list[OutgoingMessage]:
    return list(
        session.scalars(
            select(OutgoingMessage).order_by(OutgoingMessage.id.desc()).limit(limit).offset(offset)
        )
    )


def count_messages(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(OutgoingMessage)) or 0


def _requeue_failed(session: Session, message_ids: Any, now: datetime | None) -> int:
    result = session.execute(
        update(OutboxItem)
        .where(
            OutboxItem.message_id.in_(message_ids),
            OutboxItem.state == DeliveryState.failed,
            OutboxItem.last_error != INVALID_ADDRESS_ERROR,
        )
        .values(
            state=DeliveryState.queued,
            attempts=0,
            next_attempt_at=now or utcnow(),
            claimed_at=None,
            claimed_by="",
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return result.rowcount or 0  # type: ignore[attr-defined]


def retry_failed(session: Session, source_type: str, source_id: int, *, now: datetime | None = None) -> int:
    """Queue the failed rows of one source again, with a fresh attempt budget; commits.

    Rows that failed because the address is invalid stay failed: sending again cannot
    help them. Returns how many rows were queued.
    """
    message_ids = select(OutgoingMessage.id).where(
        OutgoingMessage.source_type == source_type, OutgoingMessage.source_id == source_id
    )
    return _requeue_failed(session, message_ids.scalar_subquery(), now)


def retry_failed_message(session: Session, message_id: int, *, now: datetime | None = None) -> int:
    """``retry_failed`` for the rows of one message."""
    return _requeue_failed(session, [message_id], now)


def drain(app: Flask | None = None, *, stop: threading.Event | None = None, **overrides: Any) -> DrainResult:
    """Send everything due now with a fresh ``Deliverer`` (``flask commsplan deliver``)."""
    from commsplan.delivery.worker import Deliverer

    return Deliverer.from_app(app or current_app._get_current_object(), **overrides).drain(stop)  # type: ignore[attr-defined]
