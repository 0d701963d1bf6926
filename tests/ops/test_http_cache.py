"""Public pages carry validators and a short public Cache-Control, answer 304 when the
visitor's copy is current and change version when what they show changes; every other
page stays ``no-store``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event

from commsplan.activities import services as activity_services
from commsplan.extensions import db
from commsplan.notices import services
from commsplan.notices.models import NoticeKind
from commsplan.timeutil import utcnow
from tests import factories
from tests.activities.helpers import complete_activity, complete_data, groups
from tests.notices.helpers import make_notice

PUBLIC = ("/status", "/status.atom")


@pytest.fixture
def outage(session):  # type: ignore[no-untyped-def]
    service = factories.make_service(session, name="Journalen")
    notice = make_notice(session, NoticeKind.outage, service_ids=[service.id])
    services.publish(session, notice, None)
    session.commit()
    return notice


def _queries(client, url: str, **kwargs):  # type: ignore[no-untyped-def]
    seen = []

    def count(*_args: object) -> None:
        seen.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = client.get(url, **kwargs)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return response, len(seen)


@pytest.mark.parametrize("path", [*PUBLIC, "notice"])
def test_public_pages_are_cacheable_and_answer_304(client, outage, path):
    url = f"/status/{outage.uid}" if path == "notice" else path
    first = client.get(url)
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "public, max-age=30"
    assert first.headers["ETag"].startswith('W/"')
    assert "Cookie" in first.headers["Vary"]
    assert "Set-Cookie" not in first.headers
    assert first.last_modified == outage.updated_at.replace(microsecond=0)

    again, queries = _queries(client, url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Cache-Control"] == "public, max-age=30"
    # The validator is one query; nothing is rendered.
    assert queries == 1

    since = client.get(url, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status_code == 304
    stale = client.get(url, headers={"If-None-Match": 'W/"something-older"'})
    assert stale.status_code == 200


def test_status_page_has_no_form_token_and_links_to_the_other_language(client, outage):
    body = client.get("/status").get_data(as_text=True)
    assert "csrf_token" not in body
    assert 'href="/status?lang=en"' in body
    english = client.get("/status?lang=en")
    assert 'lang="en"' in english.get_data(as_text=True)
    assert english.headers["ETag"] != client.get("/status").headers["ETag"]


def test_an_update_gives_a_new_version(client, session, outage):
    before = client.get("/status").headers["ETag"]
    services.post_update(session, outage, None, "Felet är hittat.", None)
    session.commit()
    after = client.get("/status", headers={"If-None-Match": before})
    assert after.status_code == 200
    assert after.headers["ETag"] != before
    notice_page = client.get(f"/status/{outage.uid}")
    assert "Felet är hittat." in notice_page.get_data(as_text=True)


def test_a_renamed_service_gives_a_new_version(client, session, outage):
    before = client.get("/status").headers["ETag"]
    outage.services[0].name = "Journalen 2"
    session.commit()
    after = client.get("/status", headers={"If-None-Match": before})
    assert after.status_code == 200
    assert "Journalen 2" in after.get_data(as_text=True)


def test_a_service_window_that_ends_gives_a_new_version(client, session, monkeypatch):
    start = utcnow().replace(microsecond=0) + timedelta(hours=1)
    window = make_notice(
        session,
        NoticeKind.service_window,
        title="Uppgradering",
        starts_at=start,
        ends_at=start + timedelta(hours=1),
    )
    services.publish(session, window, None)
    session.commit()
    before = client.get("/status")
    assert "Uppgradering" in before.get_data(as_text=True)

    later = start + timedelta(hours=2)
    monkeypatch.setattr("commsplan.notices.views.utcnow", lambda: later)
    monkeypatch.setattr("commsplan.notices.services.utcnow", lambda: later)
    after = client.get("/status", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert "Uppgradering" not in after.get_data(as_text=True).split("Senaste historik")[0]
    # It changed when the window ended, so If-Modified-Since is answered truthfully too.
    assert after.last_modified == (start + timedelta(hours=1))
    assert (
        client.get("/status", headers={"If-Modified-Since": before.headers["Last-Modified"]}).status_code
        == 200
    )


def test_max_age_is_configurable(app, client, outage):
    app.config["PUBLIC_CACHE_MAX_AGE"] = 5
    assert client.get("/status").headers["Cache-Control"] == "public, max-age=5"


def test_signed_in_visitors_get_a_private_no_store_status_page(client, auth, outage):
    auth.login()
    response = client.get("/status")
    assert response.headers["Cache-Control"] == "no-store"
    assert "ETag" not in response.headers
    # Their copy has their menu; an If-None-Match from an anonymous copy is no shortcut.
    assert client.get("/status", headers={"If-None-Match": "*"}).status_code == 200


@pytest.mark.parametrize("url", ["/", "/notices/", "/plan", "/delivery/"])
def test_private_pages_stay_no_store(client, auth, url):
    auth.login()
    response = client.get(url)
    assert response.status_code in (200, 302)
    assert response.headers["Cache-Control"] == "no-store"
    assert "ETag" not in response.headers


def test_login_page_and_unknown_notices_stay_no_store(client, session):
    draft = make_notice(session, NoticeKind.outage)
    session.commit()
    assert client.get("/login").headers["Cache-Control"] == "no-store"
    hidden = client.get(f"/status/{draft.uid}")
    assert hidden.status_code == 404
    assert hidden.headers["Cache-Control"] == "no-store"
    assert "ETag" not in hidden.headers


def test_language_chosen_in_the_session_is_its_own_version(client, outage):
    swedish = client.get("/status")
    client.post("/language/en", data={"next": "/status"})
    english = client.get("/status")
    assert 'lang="en"' in english.get_data(as_text=True)
    assert english.headers["ETag"] != swedish.headers["ETag"]
    assert "Cookie" in english.headers["Vary"]
    # The Swedish copy's validator does not fit the English page.
    assert client.get("/status", headers={"If-None-Match": swedish.headers["ETag"]}).status_code == 200


def test_a_changed_public_core_message_gives_a_new_version(client, session, outage):
    g = groups(session)
    activity = complete_activity(session, outage, g)
    session.commit()
    before = client.get(f"/status/{outage.uid}")
    assert "Du kan nu boka om själv." in before.get_data(as_text=True)

    data = complete_data(g, notice_ids=[outage.id], responsible_contact_id=activity.responsible_contact_id)
    data.groups[1] = activity_services.GroupAnswer(g.residents.id, False, "Boka om på 1177.se.", [g.web.id])
    activity_services.update_activity(session, activity, data)
    session.commit()
    after = client.get(f"/status/{outage.uid}", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert "Boka om på 1177.se." in after.get_data(as_text=True)
