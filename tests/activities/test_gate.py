"""The publish gate in the UI and the API, its switches, and outages that went out first."""

from __future__ import annotations

from sqlalchemy import func, select

from commsplan import create_app
from commsplan.activities import services
from commsplan.api import services as token_services
from commsplan.auth.models import Role
from commsplan.delivery.models import OutboxItem
from commsplan.notices import services as notice_services
from commsplan.notices.models import NoticeKind, NoticeStatus
from tests import factories
from tests.activities.helpers import complete_activity, complete_data, groups
from tests.notices.helpers import make_notice, small_plan


def _outbox(session) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(OutboxItem))


def _release(session):  # type: ignore[no-untyped-def]
    plan = small_plan(session)
    return make_notice(session, NoticeKind.release, service_ids=[plan.journalen.id])


def test_release_without_activity_is_refused_in_the_ui(client, auth, session):
    notice = _release(session)
    session.commit()
    auth.login(Role.coordinator)
    page = client.get(f"/notices/{notice.id}/publish").get_data(as_text=True)
    assert "Koppla meddelandet till en aktivitet med komplett checklista" in page
    assert f"/activities/new?notice={notice.id}" in page
    response = client.post(f"/notices/{notice.id}/publish", data={})
    assert response.status_code == 400
    session.expire_all()
    assert notice.status is NoticeStatus.draft and _outbox(session) == 0


def test_incomplete_activity_names_the_missing_answers_then_complete_one_publishes(client, auth, session):
    notice = _release(session)
    g = groups(session)
    data = complete_data(g, notice_ids=[notice.id])  # nobody responsible yet
    activity = services.create_activity(session, data, None)
    session.commit()
    auth.login(Role.coordinator)
    page = client.get(f"/notices/{notice.id}/publish").get_data(as_text=True)
    assert "Saknas: Vem ansvarar?" in page
    contact = factories.make_contact(session)
    data.responsible_contact_id = contact.id
    services.update_activity(session, activity, data)
    session.commit()
    response = client.post(f"/notices/{notice.id}/publish", data={})
    assert response.status_code == 302
    session.expire_all()
    assert notice.status is NoticeStatus.published and _outbox(session) > 0
    detail = client.get(f"/notices/{notice.id}").get_data(as_text=True)
    assert "Ny knapp för ombokning i vyn." in detail and "Du kan nu boka om själv." in detail
    auth.logout()
    public = client.get(f"/status/{notice.uid}").get_data(as_text=True)
    assert "Du kan nu boka om själv." in public and "Ny knapp för ombokning" not in public
    assert "Du kan nu boka om själv." in client.get("/status").get_data(as_text=True)


def test_outage_goes_out_first_and_waits_for_its_checklist(session):
    small_plan(session)
    outage = make_notice(session, NoticeKind.outage)
    notice_services.publish(session, outage, None)
    assert services.outages_awaiting_checklist(session) == [outage]
    complete_activity(session, outage)
    assert services.outages_awaiting_checklist(session) == []


def test_admin_turns_the_gate_off_in_the_ui(client, auth, session):
    notice = _release(session)
    session.commit()
    auth.login(Role.coordinator)
    assert client.post("/activities/settings/gate", data={}).status_code == 403
    auth.logout()
    auth.login(Role.admin)
    assert client.post("/activities/settings/gate", data={}).status_code == 302
    assert "Spärren är av" in client.get("/activities/templates").get_data(as_text=True)
    assert client.post(f"/notices/{notice.id}/publish", data={}).status_code == 302
    client.post("/activities/settings/gate", data={"enabled": "y"})
    assert services.gate_enabled(session, {"ACTIVITY_GATE": True})


def test_installation_setting_turns_the_gate_off(tmp_path, monkeypatch):
    monkeypatch.setenv("COMMSPLAN_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("COMMSPLAN_ACTIVITY_GATE", "false")
    monkeypatch.setenv("COMMSPLAN_SECRET_KEY", "t")
    monkeypatch.setenv("COMMSPLAN_SQLALCHEMY_DATABASE_URI", f"sqlite:///{tmp_path / 'x.db'}")
    app = create_app()
    assert app.config["ACTIVITY_GATE"] is False


def _token(session, role: Role = Role.coordinator) -> dict[str, str]:  # type: ignore[no-untyped-def]
    user = factories.make_user(session, email=f"api-{role.value}@example.org", role=role)
    _row, plain = token_services.create_token(session, user, "release-system")
    session.commit()
    return {"Authorization": f"Bearer {plain}"}


def test_api_publish_names_missing_answers_and_the_api_prepares_the_activity(client, session):
    notice = _release(session)
    g = groups(session)
    contact = factories.make_contact(session)
    headers = _token(session)
    refused = client.post(f"/api/v1/notices/{notice.id}/publish", headers=headers)
    assert refused.status_code == 422
    assert "aktivitet med komplett checklista" in refused.get_json()["message"]

    created = client.post(
        "/api/v1/activities/",
        headers=headers,
        json={"title": "Release 2.4", "kind": "release", "notice_ids": [notice.id], "purpose": "Förbereda"},
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["complete"] is False and "Vem ansvarar?" in body["missing"]
    refused = client.post(f"/api/v1/notices/{notice.id}/publish", headers=headers)
    assert refused.status_code == 422 and "Vem ansvarar?" in refused.get_json()["message"]
    planned = client.post(
        f"/api/v1/activities/{body['id']}/status", headers=headers, json={"status": "planned"}
    )
    assert planned.status_code == 422 and "Vem ansvarar?" in planned.get_json()["message"]

    answered = client.put(
        f"/api/v1/activities/{body['id']}",
        headers=headers,
        json={
            "title": "Release 2.4",
            "kind": "release",
            "notice_ids": [notice.id],
            "information_value": True,
            "information_value_why": "Ny funktion",
            "purpose": "Förbereda",
            "workdays_before": 2,
            "responsible_contact_id": contact.id,
            "groups": [
                {"group_id": g.staff.id, "core_message": "Personalens text", "channel_ids": [g.intranet.id]}
            ],
        },
    )
    assert answered.status_code == 200 and answered.get_json()["complete"] is True, answered.get_json()
    published = client.post(f"/api/v1/notices/{notice.id}/publish", headers=headers)
    assert published.status_code == 200, published.get_json()
    listed = client.get("/api/v1/activities/?kind=release", headers=headers).get_json()
    assert [a["title"] for a in listed] == ["Release 2.4"] and listed[0]["groups"][0]["group"] == g.staff.name
    assert client.get("/api/v1/activities/?status=bogus", headers=headers).status_code == 422
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/activities/" in spec["paths"]


def test_api_rejects_bad_activity_input_without_storing(client, session):
    headers = _token(session)
    response = client.post("/api/v1/activities/", headers=headers, json={"title": "", "groups": [{"x": 1}]})
    assert response.status_code == 422
    response = client.post("/api/v1/activities/", headers=headers, json={"title": "A", "notice_ids": [999]})
    assert response.status_code == 422
    assert client.post("/api/v1/activities/", json={"title": "A"}).status_code == 401
    from commsplan.activities.models import Activity

    assert session.scalar(select(func.count()).select_from(Activity)) == 0
