"""At 390 px (a phone) no page scrolls sideways: a real Chromium lays out the main pages
after the demo is loaded and reports the document's scroll width.

Uses Debian's chromium (installed by ``make test``) through Playwright, without any
browser download; skipped, with the reason, only when chromium is not on the machine.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from commsplan.auth.models import Role
from commsplan.extensions import db
from commsplan.meetings.models import MeetingSeries, Occurrence
from commsplan.notices.models import Notice, NoticeStatus
from tests import factories
from tests.test_pages import demo_loaded, simple_get_urls  # noqa: F401 – demo_loaded: a fixture

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in requirements-dev.txt")

WIDTH = 390
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NOT_HTML = (".md", ".ics", ".atom", ".csv", ".json", "/static/", "/api/", "/healthz", "/logout", "/language")


@pytest.fixture
def live_url(app, request: pytest.FixtureRequest) -> Iterator[str]:
    """The test app served over HTTP on loopback, with the demo plan and a few notices."""
    request.getfixturevalue("demo_loaded")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def phone(live_url):  # type: ignore[no-untyped-def]
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (make test installs it with apt-get when run as root)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": WIDTH, "height": 900})
        page = context.new_page()
        yield page
        browser.close()


def _main_pages(app) -> list[str]:
    series = db.session.scalars(select(MeetingSeries).order_by(MeetingSeries.id)).first()
    occurrence = db.session.scalars(select(Occurrence).order_by(Occurrence.start)).first()
    detail = (
        [f"/meetings/{series.id}", f"/meetings/occurrences/{occurrence.id}"] if series and occurrence else []
    )
    pages = [url for url in simple_get_urls(app) if not any(m in url for m in NOT_HTML)]
    notice = db.session.scalars(select(Notice).where(Notice.status == NoticeStatus.published)).first()
    if notice is not None:
        detail += [
            f"/notices/{notice.id}",
            f"/notices/{notice.id}/recipients",
            f"/delivery/notice/{notice.id}",
        ]
        detail += [f"/status/{notice.uid}"]
    return ["/", *pages, *detail]


def test_no_page_scrolls_sideways_at_390_px(app, live_url, phone):
    factories.make_user(db.session, email="phone@example.org", role=Role.admin, password=factories.PASSWORD)
    db.session.commit()
    phone.goto(f"{live_url}/login")
    phone.fill("input[name=email]", "phone@example.org")
    phone.fill("input[name=password]", factories.PASSWORD)
    phone.click("main button[type=submit]")
    phone.wait_for_load_state()
    assert "/login" not in phone.url

    too_wide = []
    pages = _main_pages(app)
    for path in pages:
        phone.goto(live_url + path)
        width = phone.evaluate("document.documentElement.scrollWidth")
        if width > WIDTH:
            too_wide.append((path, width))
    assert too_wide == [], "\n".join(f"{path}: {width} px" for path, width in too_wide)
    assert len(pages) >= 25, pages
    assert any(path.startswith("/delivery/notice/") for path in pages), pages
