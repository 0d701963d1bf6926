"""Counts are written with the right plural form in both languages (ngettext)."""

from __future__ import annotations

from commsplan.auth.models import Role
from tests import factories
from tests.notices.helpers import make_notice, small_plan


def _page(client, url: str) -> str:  # type: ignore[no-untyped-def]
    return client.get(url).get_data(as_text=True)


def test_start_page_counts_one_and_many(client, auth, session):
    factories.make_contact(session, email="en@example.org")
    session.commit()
    auth.login(Role.viewer)
    assert "<strong>1</strong> kontakt</a>" in _page(client, "/")
    factories.make_contact(session, email="tva@example.org")
    session.commit()
    assert "<strong>2</strong> kontakter</a>" in _page(client, "/")
    client.post("/language/en", data={"next": "/"})
    assert "<strong>2</strong> contacts</a>" in _page(client, "/")


def test_one_recipient_is_singular_in_both_languages(client, auth, session):
    plan = small_plan(session)
    notice = make_notice(session, service_ids=[plan.journalen.id])
    session.commit()
    auth.login(Role.coordinator)
    client.post(f"/notices/{notice.id}/recipients/remove", data={"email": "strateg@example.org"})
    assert "1 person får meddelandet." in _page(client, f"/notices/{notice.id}/recipients")
    assert "Ja, publicera och skicka till 1 mottagare" in _page(client, f"/notices/{notice.id}/publish")
    client.post("/language/en", data={"next": "/"})
    assert "1 person will receive the notice." in _page(client, f"/notices/{notice.id}/recipients")
    publish = _page(client, f"/notices/{notice.id}/publish")
    assert "Yes, publish and send to 1 recipient<" in publish
    assert "1 recipients" not in publish
