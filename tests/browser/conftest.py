"""A real Chromium against the app served on a real port.

Debian's ``chromium`` (installed by ``make test``) is driven through Playwright's sync API,
without any browser download; the tests here are skipped, with the reason, only when it is
not on the machine. Every test in this folder carries the ``browser`` marker, so
``-m "not browser"`` leaves them out.

The app runs in a thread (werkzeug ``make_server``) on its own SQLite file with the demo
loaded, CSRF protection on (the browser sends the tokens like any visitor's) and mail
going to the loopback SMTP server of ``tests/conftest.py``. ``BASE_URL`` is the live
server's address, so links in received mail are opened as they are.
"""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from commsplan.auth.models import Role
from commsplan.extensions import db
from tests import factories
from tests.test_pages import demo_loaded  # noqa: F401 – a fixture

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in requirements-dev.txt")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PHONE_WIDTH = 390


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "/tests/browser/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.browser)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def live_port() -> int:
    return _free_port()


@pytest.fixture
def app_config(app_config: dict[str, Any], live_port: int) -> dict[str, Any]:
    return app_config | {"WTF_CSRF_ENABLED": True, "BASE_URL": f"http://127.0.0.1:{live_port}"}


@pytest.fixture
def live_url(app: Flask, live_port: int, request: pytest.FixtureRequest) -> Iterator[str]:
    """The test app served over HTTP on loopback, with the demo plan and a few notices."""
    request.getfixturevalue("demo_loaded")
    server = make_server("127.0.0.1", live_port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{live_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One browser for the whole run (starting Chromium costs about a second)."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (make test installs it with apt-get when run as root)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any, live_url: str) -> Iterator[Any]:
    """A fresh browser profile (no cookies) at desktop width."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def audited_page(chromium: Any, live_url: str) -> Iterator[Any]:
    """Like ``page``, but the app's Content-Security-Policy lets axe-core's injected script run."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE", bypass_csp=True)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def phone(chromium: Any, live_url: str) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": PHONE_WIDTH, "height": 900}, locale="sv-SE")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def make_account(role: Role, email: str) -> str:
    factories.make_user(db.session, email=email, role=role, password=factories.PASSWORD)
    db.session.commit()
    return email


def log_in(page: Any, live_url: str, email: str) -> None:
    """As a person does it: type the address and password, click the button."""
    page.goto(f"{live_url}/login")
    page.get_by_label("E-postadress").fill(email)
    page.get_by_label("Lösenord").fill(factories.PASSWORD)
    page.locator("main").get_by_role("button", name="Logga in").click()
    page.wait_for_load_state()
    assert "/login" not in page.url, page.locator("main").inner_text()
