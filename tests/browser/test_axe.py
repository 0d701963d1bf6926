"""axe-core finds no WCAG 2.1 A/AA violation on any page a coordinator (here an admin, who
sees every link a coordinator sees and more) or the public can reach, nor in the HTML of
any kind of mail the app sends."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from commsplan.auth.models import Role
from commsplan.meetings.models import MeetingSeries, Occurrence
from commsplan.notices.models import NoticeKind
from commsplan.plan.models import Contact
from commsplan.subscriptions import services as subscription_services
from tests.browser.axe import violations
from tests.browser.conftest import log_in, make_account
from tests.test_pages import NOT_PAGES, simple_get_urls

LINKS = "() => Array.from(document.querySelectorAll('a[href]'), a => a.href)"


def crawl_with_axe(
    app: Any, page: Any, live_url: str, start: list[str], limit: int = 400
) -> dict[str, list[str]]:
    """Open every same-site page reachable from ``start``, one URL per route and query
    (the second contact's page is the same template as the first); axe each HTML page."""
    urls = app.url_map.bind("localhost")
    queue, seen, routes, found = list(start), set(), set(), {}
    while queue and len(seen) < limit:
        path = queue.pop(0)
        if path in seen or any(marker in path for marker in NOT_PAGES):
            continue
        seen.add(path)
        try:
            route = (urls.match(urlsplit(path).path)[0], tuple(sorted(parse_qs(urlsplit(path).query))))
        except HTTPException:
            route = (path, ())
        if route in routes:
            continue
        routes.add(route)
        response = page.goto(live_url + path)
        if response is None or "text/html" not in (response.headers.get("content-type") or ""):
            continue
        if response.status >= 500:
            found[path] = [f"HTTP {response.status}"]
            continue
        if problems := violations(page):
            found[path] = problems
        for href in page.evaluate(LINKS):
            parts = urlsplit(href)
            if f"{parts.scheme}://{parts.netloc}" == live_url:
                queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    assert len(routes) >= 8, routes
    return found


def report(found: dict[str, list[str]]) -> str:
    return "\n".join(f"{path}\n  " + "\n  ".join(lines) for path, lines in found.items())


def test_every_page_the_public_reaches_has_no_wcag_violation(app, live_url, audited_page, session):
    """The public pages and the token pages mail links to (preferences, one-click, meeting)."""
    contact = session.scalars(
        select(Contact).where(Contact.unit_id.is_not(None)).order_by(Contact.id)
    ).first()
    subscription_services.set_subscriptions(
        session,
        contact,
        subscription_services.Choices((), (NoticeKind.outage,), subscription_services.Frequency.daily),
    )
    session.commit()
    occurrence = session.scalars(
        select(Occurrence).join(MeetingSeries).where(MeetingSeries.registration_open.is_(True))
    ).first()
    with app.test_request_context():
        base = app.config["BASE_URL"]
        preferences = subscription_services.preferences_url(contact.id).removeprefix(base)
        one_click = subscription_services.one_click_links()(contact.id, "daily").removeprefix(base)
    start = ["/status", "/subscribe", "/login", "/accessibility", "/privacy", preferences, one_click]
    start += [f"/meetings/public/{occurrence.id}", f"/meetings/register/{occurrence.id}", "/preferences/bad"]
    found = crawl_with_axe(app, audited_page, live_url, start)
    assert found == {}, report(found)


def test_every_page_a_coordinator_reaches_has_no_wcag_violation(app, live_url, audited_page):
    log_in(audited_page, live_url, make_account(Role.admin, "admin@example.org"))
    start = ["/", *simple_get_urls(app)]
    found = crawl_with_axe(
        app, audited_page, live_url, [p for p in start if not p.startswith(("/logout", "/language"))]
    )
    assert found == {}, report(found)
