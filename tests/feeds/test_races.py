"""Simultaneous repeats of a feed-link change: one makes it, the others answer cleanly.

Requests go to a live, threaded server over real sockets (so every request has its own
connection and transaction, as with several web workers). They run on SQLite as well:
SQLite serialises the writers with its database lock, which the same code must survive;
the interleaving that gave the 500 (two transactions updating one token row at once)
only exists on PostgreSQL.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from commsplan.auth.models import Role
from commsplan.extensions import db
from commsplan.feeds import services
from commsplan.feeds.models import FeedKind, FeedToken
from tests.conftest import POSTGRES_URL
from tests.feeds.helpers import make_series, token_for

PARALLEL = 4


@pytest.fixture
def live_server(app) -> Iterator[tuple[str, int]]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "127.0.0.1", server.server_port
    server.shutdown()
    thread.join()


def _post_at_once(address: tuple[str, int], path: str, cookie: str, times: int = PARALLEL) -> list[int]:
    barrier = threading.Barrier(times)

    def post(_n: int) -> int:
        connection = http.client.HTTPConnection(*address, timeout=60)
        barrier.wait()
        connection.request(
            "POST",
            path,
            body="next=/feeds/",
            headers={"Cookie": f"session={cookie}", "Content-Type": "application/x-www-form-urlencoded"},
        )
        response = connection.getresponse()
        response.read()
        connection.close()
        return response.status

    with ThreadPoolExecutor(times) as pool:
        return list(pool.map(post, range(times)))


def _live_tokens(session, series_id: int) -> list[FeedToken]:
    session.expire_all()
    return session.scalars(
        select(FeedToken).where(
            FeedToken.kind == FeedKind.series,
            FeedToken.target_id == series_id,
            FeedToken.revoked_at.is_(None),
        )
    ).all()


@pytest.fixture
def series_with_link(session):
    series = make_series(session)
    old = token_for(session, FeedKind.series, series.id)
    return series, old


def _coordinator_cookie(auth, client) -> str:
    auth.login(Role.coordinator)
    return client.get_cookie("session").value


def test_simultaneous_regenerations_make_one_new_link_and_answer_all_cleanly(
    live_server, client, auth, session, series_with_link
):
    series, old = series_with_link
    live = _live_tokens(session, series.id)[0]
    statuses = _post_at_once(
        live_server, f"/feeds/tokens/{live.id}/regenerate", _coordinator_cookie(auth, client)
    )
    assert statuses == [302] * PARALLEL
    [new] = _live_tokens(session, series.id)
    assert new.token != old
    # The old link was replaced once: one revoked token, one live one.
    assert (
        session.scalar(select(func.count()).select_from(FeedToken).where(FeedToken.target_id == series.id))
        == 2
    )
    assert client.get(f"/feeds/series/{new.token}.ics").status_code == 200
    assert client.get(f"/feeds/series/{old}.ics").status_code == 404


def test_simultaneous_revocations_then_new_links_answer_cleanly(
    live_server, client, auth, session, series_with_link
):
    series, old = series_with_link
    cookie = _coordinator_cookie(auth, client)
    live = _live_tokens(session, series.id)[0]
    statuses = _post_at_once(live_server, f"/feeds/tokens/{live.id}/revoke", cookie)
    assert statuses == [302] * PARALLEL
    assert _live_tokens(session, series.id) == []
    assert client.get(f"/feeds/series/{old}.ics").status_code == 404
    # Making a new link at the same moment makes one.
    statuses = _post_at_once(live_server, f"/feeds/series/{series.id}/token", cookie)
    assert statuses == [302] * PARALLEL
    assert len(_live_tokens(session, series.id)) == 1


def test_a_repeated_regeneration_says_the_link_was_already_replaced(client, auth, session, series_with_link):
    series, _old = series_with_link
    live = _live_tokens(session, series.id)[0]
    auth.login(Role.coordinator)
    client.post(f"/feeds/tokens/{live.id}/regenerate")
    [made] = _live_tokens(session, series.id)
    again = client.post(
        f"/feeds/tokens/{live.id}/regenerate", data={"next": "/feeds/"}, follow_redirects=True
    )
    assert again.status_code == 200
    assert "redan" in again.get_data(as_text=True)
    assert _live_tokens(session, series.id) == [made]  # the repeat made no third link


@pytest.mark.skipif(not POSTGRES_URL, reason="SQLite serialises writers: these transactions cannot overlap")
def test_regenerations_in_overlapping_transactions_make_one_link(app, session, series_with_link):
    """Service level, on PostgreSQL: each thread holds its transaction open until all
    have regenerated, so every one but the first waits on the token's row lock."""
    series, _old = series_with_link
    token_id = _live_tokens(session, series.id)[0].id
    barrier = threading.Barrier(PARALLEL)
    results: list[int | None] = []

    def regenerate() -> None:
        with app.app_context():
            token = db.session.get(FeedToken, token_id)
            barrier.wait()
            fresh = services.regenerate_token(db.session, token)
            results.append(None if fresh is None else fresh.id)
            db.session.commit()
            db.session.remove()

    threads = [threading.Thread(target=regenerate) for _ in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    [new] = _live_tokens(session, series.id)
    assert sorted(results, key=str) == [new.id] + [None] * (PARALLEL - 1)
