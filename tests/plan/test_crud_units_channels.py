from __future__ import annotations

from sqlalchemy import func, select

from commsplan.auth.models import Role
from commsplan.plan.models import Channel, ChannelKind, Responsibility, Unit, UnitKind
from tests import factories
from tests.plan.impact_page import affected


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_create_edit_and_delete_a_unit(client, auth, session):
    auth.login(Role.coordinator)
    created = client.post(
        "/plan/units/new", data={"name": "Prosang", "kind": "system_object", "description": ""}
    )
    assert created.status_code == 302
    unit = session.scalar(select(Unit))
    assert unit.kind == UnitKind.system_object
    page = client.get(created.headers["Location"]).get_data(as_text=True)
    assert "Enheten Prosang är skapad." in page and "Systemförvaltningsobjekt" in page

    form = client.get(f"/plan/units/{unit.id}/edit").get_data(as_text=True)
    assert '<option selected value="system_object">' in form

    edited = client.post(
        f"/plan/units/{unit.id}/edit", data={"name": "Prosang (objekt)", "kind": "system_object"}
    )
    assert edited.status_code == 302
    session.expire_all()
    assert session.get(Unit, unit.id).name == "Prosang (objekt)"

    deleted = client.post(f"/plan/units/{unit.id}/delete", follow_redirects=True)
    assert "Enheten Prosang (objekt) är borttagen." in deleted.get_data(as_text=True)
    assert _count(session, Unit) == 0


def test_duplicate_unit_name_and_unknown_kind_are_refused(client, auth, session):
    auth.login(Role.coordinator)
    factories.make_unit(session, name="ITC")
    session.commit()
    duplicate = client.post("/plan/units/new", data={"name": "itc", "kind": "administration"})
    assert duplicate.status_code == 400
    assert "Det finns redan en enhet med det namnet." in duplicate.get_data(as_text=True)
    bad_kind = client.post("/plan/units/new", data={"name": "Ny", "kind": "planet"})
    assert bad_kind.status_code == 400
    empty = client.post("/plan/units/new", data={"name": "  ", "kind": "administration"})
    assert empty.status_code == 400 and "Ange enhetens namn." in empty.get_data(as_text=True)
    assert _count(session, Unit) == 1


def test_renaming_a_unit_to_an_existing_name_is_a_field_error(client, auth, session):
    auth.login(Role.coordinator)
    factories.make_unit(session, name="CESÅ")
    other = factories.make_unit(session, name="Patientnämnden")
    session.commit()
    response = client.post(f"/plan/units/{other.id}/edit", data={"name": "CESÅ", "kind": "administration"})
    assert response.status_code == 400
    session.expire_all()
    assert session.get(Unit, other.id).name == "Patientnämnden"


def test_unit_still_referenced_cannot_be_deleted_and_the_page_says_by_what(client, auth, session):
    auth.login(Role.coordinator)
    unit = factories.make_unit(session, name="EPJ-objektet", kind=UnitKind.system_object)
    factories.make_recipient(session, unit=unit, role="Objektledare")
    factories.make_contact(session, name="Frida", unit=unit)
    system = factories.make_system(session, name="EPJ", object_unit=unit)
    service = factories.make_service(session, name="Journalen")
    session.add(Responsibility(service=service, system=system, responsible_unit=unit))
    session.commit()

    for response in (
        client.get(f"/plan/units/{unit.id}/delete"),
        client.post(f"/plan/units/{unit.id}/delete"),
    ):
        page = response.get_data(as_text=True)
        assert "Det går inte att ta bort" in page
        assert affected(page) == {
            "Mottagare av information (1)": ["EPJ-objektet – Objektledare"],
            "Kontakter (1)": ["Frida"],
            "System som enheten förvaltar (1)": ["EPJ"],
            "Rader i ansvarstabellen (1)": ["Journalen × EPJ"],
        }
        assert "Ja, ta bort" not in page
    assert response.status_code == 409
    assert _count(session, Unit) == 1


def test_create_edit_and_delete_a_channel(client, auth, session):
    auth.login(Role.coordinator)
    created = client.post(
        "/plan/channels/new",
        data={
            "name": "Easit",
            "kind": "ticket_system",
            "address": "https://easit.example.org",
            "audience": "Objektledare och support",
        },
    )
    assert created.status_code == 302
    channel = session.scalar(select(Channel))
    assert channel.kind == ChannelKind.ticket_system
    page = client.get(created.headers["Location"]).get_data(as_text=True)
    assert "Ärendesystem" in page and 'href="https://easit.example.org"' in page

    listing = client.get("/plan/channels").get_data(as_text=True)
    assert "Easit" in listing and "Objektledare och support" in listing

    client.post(f"/plan/channels/{channel.id}/edit", data={"name": "Easit GO", "kind": "ticket_system"})
    session.expire_all()
    assert session.get(Channel, channel.id).name == "Easit GO"

    client.post(f"/plan/channels/{channel.id}/delete")
    assert _count(session, Channel) == 0


def test_channel_used_by_recipients_or_responsibilities_is_not_deleted(client, auth, session):
    auth.login(Role.coordinator)
    channel = factories.make_channel(session, name="Funktionsbrevlåda")
    unit = factories.make_unit(session, name="Kommunikation")
    factories.make_recipient(session, unit=unit, role="Kommunikationschef", channel=channel)
    service = factories.make_service(session, name="Behörigheter")
    session.add(Responsibility(service=service, channel=channel))
    session.commit()

    response = client.post(f"/plan/channels/{channel.id}/delete")
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert affected(page) == {
        "Mottagare av information (1)": ["Kommunikation – Kommunikationschef"],
        "Rader i ansvarstabellen (1)": ["Behörigheter × utan system"],
    }
    assert _count(session, Channel) == 1


def test_channel_kind_labels_are_swedish_in_the_form(client, auth):
    auth.login(Role.coordinator)
    form = client.get("/plan/channels/new").get_data(as_text=True)
    for text in ("E-post", "Ärendesystem", "Intranät", "Samverkanswebb", "Statussida", "Möte", "Telefon"):
        assert text in form
