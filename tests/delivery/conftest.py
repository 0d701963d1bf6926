"""Helpers for delivery tests: put a message in the outbox and drain it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask

from commsplan.delivery.models import OutboxItem, OutgoingMessage
from commsplan.delivery.services import Addressee, enqueue
from commsplan.delivery.worker import Deliverer, DrainResult
from commsplan.extensions import db
from tests.conftest import Outbox, _free_port, _Handler


class _PipeliningHandler(_Handler):
    """Like the shared server, but announces PIPELINING (as Postfix and most MTAs do)."""

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        # Lets a test see how a refused recipient is handled inside a pipelined group.
        if address.startswith("refused-"):
            return "550 5.1.1 Okänd mottagare" if "permanent" in address else "450 4.2.1 Försök senare"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture(scope="session")
def pipelining_server() -> Iterator[tuple[Controller, Outbox]]:
    box = Outbox()
    controller = Controller(_PipeliningHandler(box), hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, box
    controller.stop()


@pytest.fixture(params=["lockstep", "pipelining"])
def outbox(
    request: pytest.FixtureRequest,
    app: Flask,
    smtp_server: tuple[Controller, Outbox],
    pipelining_server: tuple[Controller, Outbox],
) -> Iterator[Outbox]:
    """Every delivery test runs against a server without and with PIPELINING."""
    controller, box = smtp_server if request.param == "lockstep" else pipelining_server
    app.config["MAIL_PORT"] = controller.port
    box.clear()
    yield box
    box.clear()


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
