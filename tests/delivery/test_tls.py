"""A hosted relay: STARTTLS (or TLS from the start) and a log-in before any mail.

The server is aiosmtpd with a certificate made for the test (Debian's openssl), trusted
through SSL_CERT_FILE, so the worker's own certificate check runs as in production.
"""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from commsplan.delivery.models import DeliveryState
from tests.conftest import Outbox, _free_port
from tests.delivery.conftest import _PipeliningHandler, items

USER, PASSWORD = "relay-user", "hemligt-l0sen"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"]
        + ["-addext", "subjectAltName=DNS:localhost"],
        check=True,
        capture_output=True,
    )
    return cert, key


class _Handler(_PipeliningHandler):
    def __init__(self, outbox: Outbox, pipelining: bool) -> None:
        super().__init__(outbox)
        self.pipelining = pipelining

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        if self.pipelining:
            return await super().handle_EHLO(server, session, envelope, hostname, responses)
        session.host_name = hostname
        return responses


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@pytest.fixture(params=["starttls-pipelining", "starttls-lockstep", "tls-from-start"])
def relay(request: pytest.FixtureRequest, app, certificate, monkeypatch) -> Iterator[Outbox]:
    cert, key = certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the worker trusts it like a real CA
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    box = Outbox()
    from_start = request.param == "tls-from-start"
    controller = Controller(
        _Handler(box, pipelining=request.param != "starttls-lockstep"),
        hostname="localhost",
        port=_free_port(),
        server_hostname="localhost",
        ssl_context=context if from_start else None,
        tls_context=None if from_start else context,
        require_starttls=not from_start,
        authenticator=_authenticate,
        auth_require_tls=not from_start,  # aiosmtpd only counts STARTTLS as TLS here
    )
    controller.start()
    app.config.update(
        MAIL_SERVER="localhost",
        MAIL_PORT=controller.port,
        MAIL_USE_TLS=not from_start,
        MAIL_USE_SSL=from_start,
        MAIL_USERNAME=USER,
        MAIL_PASSWORD=PASSWORD,
    )
    try:
        yield box
    finally:
        controller.stop()


def test_mail_goes_through_an_encrypted_relay_after_logging_in(app, put, drain, relay):
    message = put(*[f"p{i}@example.org" for i in range(12)], text_body="Hej %%name%%!\n" + "rad\n" * 200)
    result = drain(connections=3)
    assert result.sent == 12
    assert sorted(e.rcpt_tos[0] for e in relay.envelopes) == sorted(f"p{i}@example.org" for i in range(12))
    assert all(row.state is DeliveryState.sent for row in items(message))


def test_a_wrong_password_keeps_the_mail_for_later(app, put, drain, relay):
    app.config["MAIL_PASSWORD"] = "fel"
    message = put("a@example.org")
    result = drain()
    assert result.connection_failed and result.retrying == 1 and relay.envelopes == []
    [row] = items(message)
    assert row.state is DeliveryState.retrying and "535" in row.last_error


def test_a_password_smtplib_cannot_send_is_a_clear_error(app, put, drain, relay):
    app.config["MAIL_PASSWORD"] = "lösenord"
    message = put("a@example.org")
    result = drain()
    assert result.connection_failed and result.retrying == 1
    [row] = items(message)
    assert "bara ASCII" in row.last_error
