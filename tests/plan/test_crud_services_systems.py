from __future__ import annotations

from sqlalchemy import func, select

from commsplan.auth.models import Role
from commsplan.plan.models import Dependency, Responsibility, Service, System, UnitKind
from tests import factories
from tests.plan.impact_page import affected


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_create_edit_delete_system_with_its_object(client, auth, session):
    auth.login(Role.coordinator)
    obj = factories.make_unit(session, name="T4-objektet", kind=UnitKind.system_object)
    session.commit()
    created = client.post("/plan/systems/new", data={"name": "T4", "object_unit_id": str(obj.id)})
    assert created.status_code == 302
    system = session.scalar(select(System))
    assert system.object_unit == obj
    assert "T4-objektet" in client.get("/plan/systems").get_data(as_text=True)

    client.post(
        f"/plan/systems/{system.id}/edit",
        data={"name": "T4", "object_unit_id": "", "description": "Tandvård"},
    )
    session.expire_all()
    system = session.get(System, system.id)
    assert system.object_unit is None and system.description == "Tandvård"

    duplicate = client.post("/plan/systems/new", data={"name": "t4", "object_unit_id": ""})
    assert duplicate.status_code == 400
    assert "Det finns redan ett system med det namnet." in duplicate.get_data(as_text=True)

    client.post(f"/plan/systems/{system.id}/delete")
    assert _count(session, System) == 0


def test_system_in_use_cannot_be_deleted(client, auth, session):
    auth.login(Role.coordinator)
    system = factories.make_system(session, name="Prosang")
    service = factories.make_service(session, name="Webbtidbok")
    session.add(Responsibility(service=service, system=system))
    session.add(Dependency(service=None, system=system))
    session.commit()
    response = client.post(f"/plan/systems/{system.id}/delete")
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert affected(page) == {
        "Rader i ansvarstabellen (1)": ["Webbtidbok × Prosang"],
        "Beroenden (1)": ["Alla e-tjänster → Prosang"],
    }
    assert _count(session, System) == 1


def test_service_with_responsibility_rows_managed_from_its_page(client, auth, session):
    auth.login(Role.coordinator)
    prosang = factories.make_system(session, name="Prosang")
    epj = factories.make_system(session, name="EPJ")
    obj = factories.make_unit(session, name="Prosang-objektet", kind=UnitKind.system_object)
    easit = factories.make_channel(session, name="Easit")
    session.commit()

    created = client.post("/plan/services/new", data={"name": "Webbtidbok", "description": "Boka tider"})
    assert created.status_code == 302
    service = session.scalar(select(Service))
    detail = client.get(created.headers["Location"]).get_data(as_text=True)
    assert f"/plan/services/{service.id}/responsibilities/new" in detail

    first = client.post(
        f"/plan/services/{service.id}/responsibilities/new",
        data={
            "system_id": str(prosang.id),
            "responsible_unit_id": str(obj.id),
            "channel_id": "",
            "contact_route": "e-post objektledare",
            "comment": "Fel som invånare rapporterar",
        },
    )
    assert first.status_code == 302
    assert first.headers["Location"].endswith(f"/plan/services/{service.id}")
    client.post(
        f"/plan/services/{service.id}/responsibilities/new",
        data={"system_id": str(epj.id), "responsible_unit_id": "", "channel_id": str(easit.id)},
    )
    rows = session.scalars(select(Responsibility).order_by(Responsibility.position)).all()
    assert [(r.system.name, r.position) for r in rows] == [("Prosang", 1), ("EPJ", 2)]

    page = client.get(f"/plan/services/{service.id}").get_data(as_text=True)
    assert "e-post objektledare" in page and "Fel som invånare rapporterar" in page and "Easit" in page
    assert page.index("Prosang") < page.index("EPJ")

    duplicate = client.post(
        f"/plan/services/{service.id}/responsibilities/new", data={"system_id": str(epj.id)}
    )
    assert duplicate.status_code == 400
    assert "E-tjänsten har redan en ansvarsrad för det systemet." in duplicate.get_data(as_text=True)
    assert _count(session, Responsibility) == 2

    row = rows[1]
    edited = client.post(
        f"/plan/responsibilities/{row.id}/edit",
        data={
            "system_id": str(epj.id),
            "responsible_unit_id": "",
            "channel_id": "",
            "comment": "Akuta ärenden",
        },
    )
    assert edited.status_code == 302
    session.expire_all()
    assert session.get(Responsibility, row.id).comment == "Akuta ärenden"

    confirm = client.get(f"/plan/responsibilities/{row.id}/delete")
    assert "Ta bort ansvarsraden Webbtidbok × EPJ?" in confirm.get_data(as_text=True)
    client.post(f"/plan/responsibilities/{row.id}/delete")
    assert _count(session, Responsibility) == 1


def test_deleting_a_service_says_its_rows_and_dependencies_go_too(client, auth, session):
    auth.login(Role.coordinator)
    system = factories.make_system(session, name="RGS")
    service = factories.make_service(session, name="Journalen")
    session.add(Responsibility(service=service, system=system))
    session.add(Dependency(service=service, system=system))
    kept = Dependency(service=None, system=system)
    session.add(kept)
    session.commit()

    confirm = client.get(f"/plan/services/{service.id}/delete").get_data(as_text=True)
    assert "Tas också bort" in confirm
    assert affected(confirm) == {
        "Rader i ansvarstabellen (1)": ["Journalen × RGS"],
        "Beroenden (1)": ["Journalen → RGS"],
    }

    client.post(f"/plan/services/{service.id}/delete")
    assert _count(session, Service) == 0
    assert _count(session, Responsibility) == 0
    assert session.scalars(select(Dependency)).all() == [kept]


def test_bad_service_input_is_refused(client, auth, session):
    auth.login(Role.coordinator)
    factories.make_service(session, name="Behörigheter")
    session.commit()
    assert client.post("/plan/services/new", data={"name": ""}).status_code == 400
    duplicate = client.post("/plan/services/new", data={"name": "BEHÖRIGHETER"})
    # SQLite only folds ASCII case; PostgreSQL folds Ö too. Both must refuse an exact repeat.
    exact = client.post("/plan/services/new", data={"name": "Behörigheter"})
    assert exact.status_code == 400
    assert "Det finns redan en e-tjänst med det namnet." in exact.get_data(as_text=True)
    assert _count(session, Service) == (1 if duplicate.status_code == 400 else 2)


def test_dependencies_for_one_or_all_services(client, auth, session):
    auth.login(Role.coordinator)
    kst = factories.make_system(session, name="KST")
    service = factories.make_service(session, name="Journalen")
    session.commit()

    all_services = client.post("/plan/dependencies/new", data={"service_id": "", "system_id": str(kst.id)})
    assert all_services.status_code == 302
    one = client.post(
        "/plan/dependencies/new",
        data={"service_id": str(service.id), "system_id": str(kst.id), "note": "inloggning"},
    )
    assert one.status_code == 302
    again = client.post("/plan/dependencies/new", data={"service_id": "", "system_id": str(kst.id)})
    assert again.status_code == 400 and "Beroendet finns redan." in again.get_data(as_text=True)
    missing = client.post("/plan/dependencies/new", data={"service_id": "", "system_id": ""})
    assert missing.status_code == 400 and "Välj ett system." in missing.get_data(as_text=True)
    assert _count(session, Dependency) == 2

    listing = client.get("/plan/dependencies").get_data(as_text=True)
    assert "Alla e-tjänster" in listing and "inloggning" in listing
    detail = client.get(f"/plan/services/{service.id}").get_data(as_text=True)
    assert "inloggning" in detail  # its own dependency
    assert "Som alla e-tjänster är den också beroende av:" in detail

    dependency = session.scalar(select(Dependency).where(Dependency.service_id == service.id))
    client.post(
        f"/plan/dependencies/{dependency.id}/edit",
        data={"service_id": str(service.id), "system_id": str(kst.id), "note": "BankID"},
    )
    session.expire_all()
    assert session.get(Dependency, dependency.id).note == "BankID"
    client.post(f"/plan/dependencies/{dependency.id}/delete")
    assert _count(session, Dependency) == 1
