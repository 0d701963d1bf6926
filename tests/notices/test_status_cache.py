"""The public status page is served from a few seconds' cache per process, yet a change
made through any process shows at once, and nothing of one visitor reaches another."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event

from commsplan import create_app, httpcache
from commsplan.auth.models import Role
from commsplan.extensions import db
from commsplan.notices import services
from commsplan.notices.models import NoticeKind
from tests import factories
from tests.notices.helpers import make_notice

TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@pytest.fixture
def csrf_app(app_config, app):  # type: ignore[no-untyped-def]
    """A second app on the same database, with CSRF on, as a production process runs."""
    other = create_app(app_config | {"WTF_CSRF_ENABLED": True, "STATUS_CACHE_SECONDS": 60})
    yield other
    with other.app_context():
        db.engine.dispose()


def _publish(app, title: str) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        notice = make_notice(db.session, NoticeKind.outage, title=title)
        services.add_recipient(db.session, notice, "a@example.org")
        services.publish(db.session, notice, None)
        db.session.commit()
        db.session.remove()


def _queries(app, call):  # type: ignore[no-untyped-def]
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def record(*args):  # type: ignore[no-untyped-def]
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", record)
    try:
        result = call()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return result, len(statements)


def test_a_repeated_status_page_costs_one_query_and_a_change_in_another_process_shows_at_once(app, csrf_app):
    _publish(app, "Journalen nere")
    visitor = csrf_app.test_client()
    first, rendering = _queries(csrf_app, lambda: visitor.get("/status"))
    again, cached = _queries(csrf_app, lambda: visitor.get("/status"))
    assert "Journalen nere" in first.get_data(as_text=True)
    assert again.get_data() == first.get_data()
    assert cached == 1 < rendering  # only the public pages' version

    # Published through another process (the test app): no waiting for the cache to age.
    _publish(app, "Webbtidbok nere")
    fresh = visitor.get("/status").get_data(as_text=True)
    assert "Journalen nere" in fresh and "Webbtidbok nere" in fresh


def test_during_a_rush_the_status_page_costs_no_query_and_a_change_shows_within_the_second(
    app_config, app, monkeypatch
):  # type: ignore[no-untyped-def]
    rushed = create_app(app_config | {"PUBLIC_VERSION_SECONDS": 1, "STATUS_CACHE_SECONDS": 60})
    clock = [1000.0]
    monkeypatch.setattr(httpcache.time, "monotonic", lambda: clock[0])
    _publish(app, "Journalen nere")
    visitor = rushed.test_client()
    first = visitor.get("/status")
    again, queries = _queries(rushed, lambda: visitor.get("/status"))
    assert again.get_data() == first.get_data() and queries == 0

    _publish(app, "Webbtidbok nere")
    clock[0] += 0.5
    assert "Webbtidbok nere" not in visitor.get("/status").get_data(as_text=True)
    # The coordinator who published it sees it at once: signed in, no remembered version.
    with app.app_context():
        factories.make_user(db.session, email="samordnare@example.org", role=Role.coordinator)
        db.session.commit()
    coordinator = rushed.test_client()
    coordinator.post("/login", data={"email": "samordnare@example.org", "password": factories.PASSWORD})
    assert "Webbtidbok nere" in coordinator.get("/status").get_data(as_text=True)
    clock[0] += 0.6
    assert "Webbtidbok nere" in visitor.get("/status").get_data(as_text=True)
    with rushed.app_context():
        db.engine.dispose()


def test_the_shared_page_carries_nothing_of_one_visitor_and_keeps_each_language(app, csrf_app):
    _publish(app, "Journalen nere")
    first, second = csrf_app.test_client(), csrf_app.test_client()
    swedish = first.get("/status")
    assert TOKEN.search(swedish.get_data(as_text=True)) is None
    assert "Set-Cookie" not in swedish.headers
    english = second.get("/status?lang=en").get_data(as_text=True)
    assert 'lang="en"' in english and "Journalen nere" in english
    # The English rendering did not replace the Swedish one.
    assert 'lang="sv"' in first.get("/status").get_data(as_text=True)
    assert 'lang="en"' in second.get("/status?lang=en").get_data(as_text=True)


def test_a_signed_in_coordinator_never_gets_the_shared_page_nor_shares_theirs(app, csrf_app):
    _publish(app, "Journalen nere")
    anonymous = csrf_app.test_client()
    anonymous.get("/status")
    with app.app_context():
        factories.make_user(
            db.session, email="samordnare@example.org", role=Role.coordinator, name="Sam Ordnare"
        )
        db.session.commit()
    coordinator = csrf_app.test_client()
    login = coordinator.get("/login").get_data(as_text=True)
    coordinator.post(
        "/login",
        data={
            "email": "samordnare@example.org",
            "password": factories.PASSWORD,
            "csrf_token": TOKEN.search(login).group(1),
        },
    )
    assert "Sam Ordnare" in coordinator.get("/status").get_data(as_text=True)
    assert "Sam Ordnare" not in anonymous.get("/status").get_data(as_text=True)
