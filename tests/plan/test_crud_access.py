"""Every plan page: viewers read without edit buttons, cannot write; anonymous go to log-in."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from commsplan.auth.models import Role
from commsplan.plan.models import Dependency, Responsibility, Unit
from tests import factories

ENTITY_PAGES = [
    "units",
    "channels",
    "stakeholders",
    "recipients",
    "contacts",
    "systems",
    "services",
    "dependencies",
]


@pytest.fixture
def one_of_each(session):
    unit = factories.make_unit(session, name="Enheten")
    channel = factories.make_channel(session, name="Kanalen")
    group = factories.make_stakeholder_group(session, name="Gruppen")
    recipient = factories.make_recipient(session, unit=unit, role="Rollen", channel=channel)
    contact = factories.make_contact(session, name="Kontakten", unit=unit, groups=[group])
    system = factories.make_system(session, name="Systemet", object_unit=unit)
    service = factories.make_service(session, name="Tjänsten")
    row = Responsibility(service=service, system=system, responsible_unit=unit, channel=channel)
    dependency = Dependency(service=service, system=system)
    session.add_all([row, dependency])
    session.commit()
    return {
        "units": unit.id,
        "channels": channel.id,
        "stakeholders": group.id,
        "recipients": recipient.id,
        "contacts": contact.id,
        "systems": system.id,
        "services": service.id,
        "dependencies": dependency.id,
        "responsibilities": row.id,
    }


def test_viewer_reads_every_list_and_detail_without_edit_buttons(client, auth, one_of_each):
    auth.login(Role.viewer)
    for kind in ENTITY_PAGES:
        ident = one_of_each[kind]
        for url in (f"/plan/{kind}", f"/plan/{kind}/{ident}"):
            response = client.get(url)
            assert response.status_code == 200, url
            page = response.get_data(as_text=True)
            assert "/edit" not in page and "/delete" not in page and "/new" not in page, url
            assert "Ändra" not in page and "Ta bort" not in page, url


def test_viewer_gets_403_on_every_write(client, auth, one_of_each):
    auth.login(Role.viewer)
    posts = []
    for kind in ENTITY_PAGES:
        ident = one_of_each[kind]
        posts += [f"/plan/{kind}/new", f"/plan/{kind}/{ident}/edit", f"/plan/{kind}/{ident}/delete"]
    row = one_of_each["responsibilities"]
    posts += [
        f"/plan/services/{one_of_each['services']}/responsibilities/new",
        f"/plan/responsibilities/{row}/edit",
        f"/plan/responsibilities/{row}/delete",
    ]
    for url in posts:
        assert client.post(url, data={"name": "x"}).status_code == 403, url


def test_coordinator_sees_the_edit_buttons(client, auth, one_of_each):
    auth.login(Role.coordinator)
    for kind in ENTITY_PAGES:
        ident = one_of_each[kind]
        listing = client.get(f"/plan/{kind}").get_data(as_text=True)
        assert f"/plan/{kind}/new" in listing and f"/plan/{kind}/{ident}/edit" in listing, kind
        detail = client.get(f"/plan/{kind}/{ident}").get_data(as_text=True)
        assert f"/plan/{kind}/{ident}/delete" in detail, kind
        form = client.get(f"/plan/{kind}/{ident}/edit")
        assert form.status_code == 200, kind


def test_anonymous_is_sent_to_login_everywhere(client, one_of_each):
    for kind in ENTITY_PAGES:
        for url in (f"/plan/{kind}", f"/plan/{kind}/{one_of_each[kind]}", f"/plan/{kind}/new"):
            response = client.get(url)
            assert response.status_code == 302 and "/login" in response.headers["Location"], url
        response = client.post(f"/plan/{kind}/{one_of_each[kind]}/delete")
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_unknown_ids_are_404(client, auth):
    auth.login(Role.coordinator)
    for kind in ENTITY_PAGES:
        assert client.get(f"/plan/{kind}/999").status_code == 404
        assert client.post(f"/plan/{kind}/999/delete").status_code == 404


def test_viewer_cannot_open_forms_or_confirmation_pages(client, auth, one_of_each):
    auth.login(Role.viewer)
    for kind in ENTITY_PAGES:
        ident = one_of_each[kind]
        for url in (f"/plan/{kind}/new", f"/plan/{kind}/{ident}/edit", f"/plan/{kind}/{ident}/delete"):
            assert client.get(url).status_code == 403, url


def test_forms_need_a_csrf_token(app, client, auth, session):
    auth.login(Role.coordinator)
    unit = factories.make_unit(session, name="Kvar")
    session.commit()
    app.config["WTF_CSRF_ENABLED"] = True
    created = client.post("/plan/units/new", data={"name": "Utan token", "kind": "administration"})
    assert created.status_code == 400
    deleted = client.post(f"/plan/units/{unit.id}/delete")
    assert deleted.status_code == 400
    assert [u.name for u in session.scalars(select(Unit))] == ["Kvar"]

    form = client.get("/plan/units/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    with_token = client.post(
        "/plan/units/new", data={"name": "Med token", "kind": "administration", "csrf_token": token}
    )
    assert with_token.status_code == 302
