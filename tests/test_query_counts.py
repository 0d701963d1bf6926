"""Every page stays bounded at a region's size: the same SQL query count (or a small
constant more) and a page of similar weight with 10,000 contacts, 2,000 notices, three
years of meetings and 100,000 outbox rows as with a few rows of each.

The pages are found as tests/test_pages.py finds them: the parameterless routes and every
link reachable from them, as an admin and without log-in, plus the token pages mail links
to. At most a few URLs per endpoint are opened, so the crawl stays the same length at
both sizes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select
from werkzeug.exceptions import HTTPException

from commsplan.auth.models import Role
from commsplan.extensions import db
from commsplan.plan.models import Contact
from commsplan.subscriptions import services as subscription_services
from commsplan.subscriptions.models import SubscriberProfile
from tests import factories
from tests.regiondata import RegionSize, build_region
from tests.test_pages import NOT_PAGES, audit, simple_get_urls

URLS_PER_ENDPOINT = 2
# Pages whose length follows the data on purpose (their query count is still checked):
SIZED_BY_DESIGN = {
    # every ongoing notice: the public needs all of them during an outage; a short cache
    # keeps the page cheap instead (tests/notices/test_status_cache.py)
    "status.status_page",
    "public status.status_page",
    # a report over the period the coordinator picks, capped at 500 notices
    "activities.coverage_page",
}
# Growth allowed on top of the small region's count: e.g. a "next page" probe.
EXTRA_QUERIES = 2


@dataclass
class Visit:
    url: str
    queries: int
    size: int
    loaded: int  # ORM rows loaded: few queries can still fetch a whole table


@contextmanager
def counting_queries(app: Flask) -> Iterator[tuple[list[str], list[object]]]:
    statements: list[str] = []
    loaded: list[object] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    def on_load(target, context):  # type: ignore[no-untyped-def]
        loaded.append(target)

    event.listen(db.engine, "before_cursor_execute", record)
    event.listen(db.Model, "load", on_load, propagate=True)
    try:
        yield statements, loaded
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
        event.remove(db.Model, "load", on_load)


def _endpoint(app: Flask, url: str) -> str | None:
    parts = urlsplit(url)
    try:
        endpoint, _args = app.url_map.bind("localhost").match(parts.path, method="GET")
    except HTTPException:
        return None
    # A list's filtered and paged views are the same page; keep them apart from the bare one.
    return endpoint + ("?" if parts.query else "")


def crawl(app: Flask, client: FlaskClient, seeds: list[str]) -> dict[str, Visit]:
    """Per endpoint, the visit with the most queries among the first few URLs met."""
    queue = list(seeds)
    seen: set[str] = set()
    per_endpoint: dict[str, int] = defaultdict(int)
    worst: dict[str, Visit] = {}
    while queue:
        url = queue.pop(0)
        if url in seen or any(marker in url for marker in NOT_PAGES):
            continue
        seen.add(url)
        endpoint = _endpoint(app, url)
        if endpoint is None or per_endpoint[endpoint] >= URLS_PER_ENDPOINT:
            continue
        per_endpoint[endpoint] += 1
        # A fresh session per request, as a real request gets: nothing cached between pages.
        db.session.remove()
        with counting_queries(app) as (statements, loaded):
            response = client.get(url)
        assert response.status_code in (200, 302), (url, response.status_code)
        body = response.get_data()
        visit = Visit(url, len(statements), len(body), len(loaded))
        if endpoint not in worst or visit.queries > worst[endpoint].queries:
            worst[endpoint] = visit
        if response.status_code == 200 and response.mimetype == "text/html":
            queue.extend(link for link in audit(body.decode()).links if link not in seen)
    return worst


def token_pages(app: Flask) -> list[str]:
    """Pages reached from mail: a contact's preferences and the self-subscriber's too."""
    session = db.session
    role_based = session.scalar(select(Contact).where(Contact.unit_id.is_not(None)).order_by(Contact.id))
    self_subscribed = session.scalar(
        select(Contact)
        .join(SubscriberProfile, SubscriberProfile.contact_id == Contact.id)
        .order_by(Contact.id)
    )
    base = app.config["BASE_URL"]
    with app.test_request_context():
        urls = [subscription_services.preferences_url(c.id) for c in (role_based, self_subscribed) if c]
        urls.append(subscription_services.unsubscribe_url(role_based.email))
    return [url.removeprefix(base) for url in urls]


def measure(app: Flask, size: RegionSize) -> dict[str, Visit]:
    build_region(db.session, size)
    factories.make_user(db.session, email="admin@example.org", role=Role.admin, password=factories.PASSWORD)
    db.session.commit()
    client = app.test_client()
    public = crawl(app, client, ["/status", "/subscribe", "/login", *token_pages(app)])
    client = app.test_client()
    client.post("/login", data={"email": "admin@example.org", "password": factories.PASSWORD})
    signed_in = crawl(app, client, ["/", *simple_get_urls(app)])
    return {f"public {k}": v for k, v in public.items()} | signed_in


def _empty_database() -> None:
    db.session.remove()
    db.drop_all()
    db.create_all()


def test_every_page_answers_with_a_bounded_number_of_queries_at_a_regions_size(app):
    small = measure(app, RegionSize.small())
    _empty_database()
    region = measure(app, RegionSize.region())
    for endpoint, visit in sorted(region.items()):
        before = small.get(endpoint)
        print(
            f"{endpoint:50} {before.queries if before else '-':>4} {visit.queries:>5} queries"
            f" {before.size // 1024 if before else '-':>5} {visit.size // 1024:>6} KiB  {visit.url}"
        )

    assert len(small) >= 60, sorted(small)
    missing = sorted(set(small) - set(region))
    assert missing == [], f"pages not reached at region size: {missing}"
    grown = [
        f"{endpoint}: {small[endpoint].queries} → {visit.queries} queries ({visit.url})"
        for endpoint, visit in sorted(region.items())
        if endpoint in small and visit.queries > small[endpoint].queries + EXTRA_QUERIES
    ]
    assert grown == [], "queries grow with the data:\n" + "\n".join(grown)
    heavy = [
        f"{endpoint}: {small[endpoint].size // 1024} → {visit.size // 1024} KiB ({visit.url})"
        for endpoint, visit in sorted(region.items())
        if endpoint in small
        and endpoint.rstrip("?") not in SIZED_BY_DESIGN
        and visit.size > 2 * small[endpoint].size + 40_000
    ]
    assert heavy == [], "pages grow with the data:\n" + "\n".join(heavy)
    loading = [
        f"{endpoint}: {small[endpoint].loaded} → {visit.loaded} rows loaded ({visit.url})"
        for endpoint, visit in sorted(region.items())
        if endpoint in small
        and endpoint.rstrip("?") not in SIZED_BY_DESIGN
        and visit.loaded > 3 * small[endpoint].loaded + 300
    ]
    assert loading == [], "pages load rows in proportion to the data:\n" + "\n".join(loading)
