"""The subscription UI and token management as coordinators and viewers use them."""

from __future__ import annotations

import re

from sqlalchemy import select

from commsplan.auth.models import Role
from commsplan.feeds.models import FeedKind, FeedToken
from tests import factories
from tests.feeds.helpers import make_series, token_for


def _live(session, kind: FeedKind, target_id: int = 0) -> FeedToken:  # type: ignore[no-untyped-def]
    return session.scalar(
        select(FeedToken).where(
            FeedToken.kind == kind, FeedToken.target_id == target_id, FeedToken.revoked_at.is_(None)
        )
    )


def test_subscriptions_page_shows_webcal_and_https_links(client, auth, session):
    series = make_series(session, title="Nätverket")
    factories.make_contact(session, name="Anna Medlem")
    session.commit()
    auth.login(Role.viewer)

    response = client.get("/feeds/")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    token = _live(session, FeedKind.series, series.id).token
    assert f"webcal://commsplan.example.org/feeds/series/{token}.ics" in page
    assert f'value="https://commsplan.example.org/feeds/series/{token}.ics"' in page
    assert "/feeds/region/" in page
    assert "Anna Medlem" in page
    assert "readonly" in page
    # Viewers may subscribe but not manage links.
    assert "Återkalla" not in page


def test_links_are_stable_between_page_views(client, auth, session):
    make_series(session)
    session.commit()
    auth.login(Role.viewer)
    first = re.findall(r"https://[^\"]+\.ics", client.get("/feeds/").get_data(as_text=True))
    second = re.findall(r"https://[^\"]+\.ics", client.get("/feeds/").get_data(as_text=True))
    assert len(first) == 2  # the region feed and the series
    assert first == second


def test_viewer_cannot_revoke(client, auth, session):
    series = make_series(session)
    token = token_for(session, FeedKind.series, series.id)
    auth.login(Role.viewer)
    live = _live(session, FeedKind.series, series.id)

    assert client.post(f"/feeds/tokens/{live.id}/revoke").status_code == 403
    assert client.get(f"/feeds/series/{token}.ics").status_code == 200


def test_revoking_asks_first_then_the_link_is_dead(client, auth, session):
    series = make_series(session)
    token = token_for(session, FeedKind.series, series.id)
    live = _live(session, FeedKind.series, series.id)
    auth.login(Role.coordinator)

    confirm = client.get(f"/feeds/tokens/{live.id}/revoke")
    assert confirm.status_code == 200
    assert "Återkalla prenumerationslänk" in confirm.get_data(as_text=True)
    assert client.get(f"/feeds/series/{token}.ics").status_code == 200

    done = client.post(f"/feeds/tokens/{live.id}/revoke")

    assert done.status_code == 302
    assert client.get(f"/feeds/series/{token}.ics").status_code == 404
    # The feed stays off: the page offers to make a new link instead of quietly making one.
    page = client.get("/feeds/").get_data(as_text=True)
    assert _live(session, FeedKind.series, series.id) is None
    assert "Skapa länk" in page


def test_regenerated_token_works_and_the_old_one_does_not(client, auth, session):
    series = make_series(session)
    old = token_for(session, FeedKind.series, series.id)
    live = _live(session, FeedKind.series, series.id)
    auth.login(Role.coordinator)

    response = client.post(f"/feeds/tokens/{live.id}/regenerate", data={"next": "/feeds/"})

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/feeds/")
    session.expire_all()
    new = _live(session, FeedKind.series, series.id).token
    assert new != old
    assert client.get(f"/feeds/series/{old}.ics").status_code == 404
    assert client.get(f"/feeds/series/{new}.ics").status_code == 200


def test_a_coordinator_can_make_a_new_link_after_revoking(client, auth, session):
    series = make_series(session)
    token_for(session, FeedKind.series, series.id)
    auth.login(Role.coordinator)
    client.post(f"/feeds/tokens/{_live(session, FeedKind.series, series.id).id}/revoke")

    client.post(f"/feeds/series/{series.id}/token")

    session.expire_all()
    fresh = _live(session, FeedKind.series, series.id)
    assert fresh is not None
    assert client.get(f"/feeds/series/{fresh.token}.ics").status_code == 200


def test_revoking_an_already_revoked_token_is_answered_cleanly(client, auth, session):
    # A double submit (or two coordinators at once) is not an error; its confirm page is gone.
    series = make_series(session)
    token_for(session, FeedKind.series, series.id)
    live = _live(session, FeedKind.series, series.id)
    auth.login(Role.coordinator)
    client.post(f"/feeds/tokens/{live.id}/revoke")
    again = client.post(f"/feeds/tokens/{live.id}/revoke", follow_redirects=True)
    assert again.status_code == 200
    assert "Länken var redan återkallad" in again.get_data(as_text=True)
    assert client.get(f"/feeds/tokens/{live.id}/revoke").status_code == 404
    assert client.post("/feeds/tokens/999999/revoke").status_code == 404


def test_unsafe_next_is_ignored(client, auth, session):
    series = make_series(session)
    token_for(session, FeedKind.series, series.id)
    live = _live(session, FeedKind.series, series.id)
    auth.login(Role.coordinator)
    response = client.post(f"/feeds/tokens/{live.id}/regenerate", data={"next": "//evil.example.org/"})
    assert response.headers["Location"].endswith("/feeds/")


def test_feeds_need_no_login(client, session):
    series = make_series(session)
    token = token_for(session, FeedKind.series, series.id)
    assert client.get(f"/feeds/series/{token}.ics").status_code == 200
    assert client.get("/feeds/").status_code == 302  # the page itself needs log-in
