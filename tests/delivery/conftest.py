"""Helpers for delivery tests: put a message in the outbox and drain it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from flask import Flask

from commsplan.delivery.models import OutboxItem, OutgoingMessage
from commsplan.delivery.services import Addressee, enqueue
from commsplan.delivery.worker import Deliverer, DrainResult
from commsplan.extensions import db


def outgoing(**overrides: Any) -> OutgoingMessage:
    values: dict[str, Any] = {
        "kind": "notice",
        "subject": "Driftstörning: Journalen",
        "text_body": "Hej %%name%%!\n\nJournalen går inte att nå.\nLäs mer: %%link%%\n",
        "html_body": (
            '<p>Hej %%name%%!</p>\n<p>Journalen går inte att nå. <a href="%%link%%">Läs mer</a></p>\n'
        ),
        "headers": {},
        "attachments": [],
        "source_type": "notice",
        "source_id": 1,
    }
    values.update(overrides)
    return OutgoingMessage(**values)


@pytest.fixture
def put() -> Callable[..., OutgoingMessage]:
    """Enqueue a message to addressees (strings or Addressee) and commit."""

    def put(*addressees: str | Addressee, **overrides: Any) -> OutgoingMessage:
        message = outgoing(**overrides)
        people = [a if isinstance(a, Addressee) else Addressee(email=a) for a in addressees]
        enqueue(db.session, message, people)
        db.session.commit()
        return message

    return put


@pytest.fixture
def drain(app: Flask) -> Callable[..., DrainResult]:
    def drain(*, at: datetime | None = None, **overrides: Any) -> DrainResult:
        overrides.setdefault("connections", 1)
        if at is not None:
            overrides["clock"] = lambda: at
        result = Deliverer.from_app(app, **overrides).drain()
        db.session.expire_all()
        assert not result.errors, result.errors
        return result

    return drain


def items(message: OutgoingMessage | None = None) -> list[OutboxItem]:
    db.session.expire_all()
    query = db.select(OutboxItem).order_by(OutboxItem.id)
    if message is not None:
        query = query.where(OutboxItem.message_id == message.id)
    return list(db.session.scalars(query))
