"""At 390 px (a phone) no page scrolls sideways: a real Chromium lays out the main pages
after the demo is loaded and reports the document's scroll width."""

from __future__ import annotations

from sqlalchemy import select

from commsplan.auth.models import Role
from commsplan.extensions import db
from commsplan.meetings.models import MeetingSeries, Occurrence
from commsplan.notices.models import Notice, NoticeStatus
from tests.browser.conftest import PHONE_WIDTH, log_in, make_account
from tests.test_pages import simple_get_urls

NOT_HTML = (
    ".md",
    ".ics",
    ".atom",
    ".csv",
    ".json",
    "/static/",
    "/api/",
    "/healthz",
    "/readyz",
    "/metrics",
    "/logout",
    "/language",
)


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
    log_in(phone, live_url, make_account(Role.admin, "phone@example.org"))

    too_wide = []
    pages = _main_pages(app)
    for path in pages:
        phone.goto(live_url + path)
        width = phone.evaluate("document.documentElement.scrollWidth")
        if width > PHONE_WIDTH:
            too_wide.append((path, width))
    assert too_wide == [], "\n".join(f"{path}: {width} px" for path, width in too_wide)
    assert len(pages) >= 25, pages
    assert any(path.startswith("/delivery/notice/") for path in pages), pages
