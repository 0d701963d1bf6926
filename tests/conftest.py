"""Test fixtures: a fresh app per test on SQLite, or on PostgreSQL when
``COMMSPLAN_TEST_DATABASE_URL`` is set, plus a real SMTP server on loopback."""

from __future__ import annotations

import os
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from flask import Flask, g, request_started
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from commsplan import create_app
from commsplan.auth.models import Role
from commsplan.extensions import db
from tests import factories

POSTGRES_URL = os.environ.get("COMMSPLAN_TEST_DATABASE_URL", "").strip()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Outbox:
    """What the loopback SMTP server received, with a knob to make it refuse."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[Envelope] = field(default_factory=list)
    # Replies to hand out, one per DATA command, before accepting normally: e.g. ["421 …"].
    scripted_replies: list[str] = field(default_factory=list)
    # time.monotonic() at which each message was accepted (rate-limit tests).
    accepted_at: list[float] = field(default_factory=list)

    def clear(self) -> None:
        self.messages.clear()
        self.envelopes.clear()
        self.scripted_replies.clear()
        self.accepted_at.clear()

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m, e in zip(self.messages, self.envelopes, strict=True) if address in e.rcpt_tos]


class _Handler:
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        if self.outbox.scripted_replies:
            return self.outbox.scripted_replies.pop(0)
        self.outbox.accepted_at.append(time.monotonic())
        self.outbox.envelopes.append(envelope)
        self.outbox.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[Controller, Outbox]]:
    outbox = Outbox()
    controller = Controller(_Handler(outbox), hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, outbox
    controller.stop()


@pytest.fixture
def outbox(smtp_server: tuple[Controller, Outbox]) -> Iterator[Outbox]:
    smtp_server[1].clear()
    yield smtp_server[1]
    smtp_server[1].clear()


def _truncate_all() -> None:
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    db.session.commit()


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of the suite's kind for migration tests: a file on SQLite, a
    throw-away schema on PostgreSQL (the shared test schema is left alone)."""
    if not POSTGRES_URL:
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    schema = f"empty_{uuid.uuid4().hex[:8]}"
    engine = create_engine(POSTGRES_URL)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(scope="session")
def _postgres_schema_ready() -> bool:
    """Create the schema once per run on PostgreSQL; tests then truncate."""
    if not POSTGRES_URL:
        return False
    app = create_app({"SQLALCHEMY_DATABASE_URI": POSTGRES_URL, "SECRET_KEY": "t", "TESTING": True})
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.engine.dispose()
    return True


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """Build the SQLite schema once; each test starts from a copy (much faster than create_all)."""
    if POSTGRES_URL:
        return None
    path = tmp_path_factory.mktemp("schema") / "template.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "t", "TESTING": True})
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    return path


@pytest.fixture
def app_config(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    smtp_server: tuple[Controller, Outbox],
    _sqlite_template: Path | None,
) -> dict[str, Any]:
    controller = smtp_server[0]
    if _sqlite_template is not None:
        shutil.copyfile(_sqlite_template, tmp_path / "test.db")
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": POSTGRES_URL or f"sqlite:///{tmp_path / 'test.db'}",
        "WTF_CSRF_ENABLED": False,
        "BASE_URL": "https://commsplan.example.org",
        "MAIL_SERVER": controller.hostname,
        "MAIL_PORT": controller.port,
        "MAIL_DEFAULT_SENDER": "commsplan <noreply@example.org>",
        "SERVER_NAME": None,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        # Publishing tests not about the activity gate publish without preparing an
        # activity. tests/activities and tests marked ``activity_gate`` (which prepare
        # their notices with ``prepared_notice``) publish through the gate.
        "ACTIVITY_GATE": request.node.get_closest_marker("activity_gate") is not None,
        # Public pages read their version on every request, so a test sees each change at
        # once; tests/notices/test_status_cache.py covers the second a process keeps it.
        "PUBLIC_VERSION_SECONDS": 0,
    }


@pytest.fixture
def app(
    app_config: dict[str, Any], _postgres_schema_ready: bool, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Flask]:
    monkeypatch.setenv("COMMSPLAN_INSTANCE_PATH", str(tmp_path / "instance"))
    application = create_app(app_config)
    # Tests hold one app context open (for `session`), so requests would share `g` – and with it
    # Flask-Login's and Flask-Babel's per-request caches. Real requests each get a fresh `g`.
    request_started.connect(_fresh_g, application)
    with application.app_context():
        if _postgres_schema_ready:
            _truncate_all()
        yield application
        db.session.remove()
        db.engine.dispose()


def _fresh_g(sender: Flask, **extra: Any) -> None:
    g.__dict__.clear()


@pytest.fixture
def session(app: Flask):  # type: ignore[no-untyped-def]
    return db.session


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


class AuthActions:
    """Log a test client in as a freshly made user of a given role."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, role: Role | str = Role.coordinator, email: str | None = None) -> Any:
        role = Role(role) if isinstance(role, str) else role
        email = email or f"{role.value}@example.org"
        factories.make_user(db.session, email=email, role=role, password=factories.PASSWORD)
        db.session.commit()
        response = self.client.post("/login", data={"email": email, "password": factories.PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    def logout(self) -> Any:
        return self.client.post("/logout")


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


def parse_mail(raw: bytes) -> EmailMessage:
    return message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]
