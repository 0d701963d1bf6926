"""The HTTP API: bearer tokens, roles, validation and the OpenAPI document."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from marshmallow import fields, validate
from sqlalchemy import select

from commsplan.api import services as token_services
from commsplan.api.messages import TEMPLATES
from commsplan.api.models import ApiToken
from commsplan.auth.models import Role
from commsplan.notices.models import Notice, NoticeStatus
from tests import factories
from tests.notices.helpers import small_plan


def _token(session, role: Role = Role.coordinator) -> str:  # type: ignore[no-untyped-def]
    user = factories.make_user(session, email=f"api-{role.value}@example.org", role=role)
    _row, plain = token_services.create_token(session, user, "test")
    session.commit()
    return plain


def _h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


OUTAGE: dict[str, Any] = {
    "kind": "outage",
    "title": "Journalen nere",
    "severity": "high",
    "body": "Vi felsöker.",
}


def test_create_token_command_prints_token_once_and_stores_hash(runner, session, client):
    factories.make_user(session, email="mon@example.org", role=Role.coordinator)
    session.commit()
    result = runner.invoke(args=["commsplan", "create-token", "mon@example.org", "--name", "övervakning"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[0]
    assert token.startswith("cp_")
    row = session.scalars(select(ApiToken)).one()
    assert token not in (row.token_hash, row.prefix)
    assert client.get("/api/v1/notices", headers=_h(token)).status_code == 200

    revoked = runner.invoke(args=["commsplan", "revoke-token", str(row.id)])
    assert revoked.exit_code == 0, revoked.output
    assert client.get("/api/v1/notices", headers=_h(token)).status_code == 401

    unknown = runner.invoke(args=["commsplan", "create-token", "ingen@example.org"])
    assert unknown.exit_code != 0


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer cp_wrong"}, {"Authorization": "Basic dXNlcjpwdw=="}]
)
def test_missing_or_wrong_token_is_401(client, headers):
    response = client.get("/api/v1/notices", headers=headers)
    assert response.status_code == 401
    assert response.json["code"] == 401
    assert "token" in response.json["message"].lower()


def test_session_cookie_is_not_enough(client, auth):
    auth.login(Role.coordinator)
    assert client.post("/api/v1/notices", json=OUTAGE).status_code == 401


def test_viewer_token_reads_but_cannot_write(client, session):
    token = _token(session, Role.viewer)
    assert client.get("/api/v1/notices", headers=_h(token)).status_code == 200
    response = client.post("/api/v1/notices", json=OUTAGE, headers=_h(token))
    assert response.status_code == 403
    assert session.scalars(select(Notice)).all() == []


def test_create_publish_update_and_count_delivery(client, session, runner, outbox):
    plan = small_plan(session)
    token = _token(session)
    created = client.post(
        "/api/v1/notices", json={**OUTAGE, "service_ids": [plan.journalen.id]}, headers=_h(token)
    )
    assert created.status_code == 201, created.json
    notice_id = created.json["id"]
    assert created.json["status"] == "draft"
    assert created.json["services"] == [{"id": plan.journalen.id, "name": "Journalen"}]

    preview = client.get(f"/api/v1/notices/{notice_id}/recipients", headers=_h(token))
    assert {p["email"] for p in preview.json} == {"drift@example.org", "strateg@example.org"}

    published = client.post(f"/api/v1/notices/{notice_id}/publish", headers=_h(token))
    assert published.status_code == 200, published.json
    assert published.json["recipient_count"] == 2
    assert published.json["notice"]["status"] == "published"
    reasons = {p["email"]: p["reasons"] for p in published.json["recipients"]}
    assert reasons["drift@example.org"][0].startswith("Ansvarig enligt ansvarstabellen")

    again = client.post(f"/api/v1/notices/{notice_id}/publish", headers=_h(token))
    assert again.status_code == 422

    update = client.post(
        f"/api/v1/notices/{notice_id}/updates",
        json={"body": "Orsaken är hittad.", "outage_state": "identified"},
        headers=_h(token),
    )
    assert update.status_code == 201, update.json
    assert update.json["recipient_count"] == 2

    counts = client.get(f"/api/v1/notices/{notice_id}/delivery", headers=_h(token))
    assert counts.json["queued"] == 4 and counts.json["sent"] == 0
    assert runner.invoke(args=["commsplan", "deliver"]).exit_code == 0
    counts = client.get(f"/api/v1/notices/{notice_id}/delivery", headers=_h(token))
    assert counts.json["sent"] == 4
    assert len(outbox.messages) == 4

    listed = client.get("/api/v1/notices?status=published", headers=_h(token))
    assert [n["id"] for n in listed.json] == [notice_id]
    assert client.get("/api/v1/notices?status=draft", headers=_h(token)).json == []

    closed = client.post(f"/api/v1/notices/{notice_id}/close", json={"body": "Löst."}, headers=_h(token))
    assert closed.status_code == 200
    assert closed.json["outage_state"] == "resolved"
    one = client.get(f"/api/v1/notices/{notice_id}", headers=_h(token)).json
    assert [u["kind"] for u in one["updates"]] == ["published", "update", "closed"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "outage"}, "title"),
        ({**OUTAGE, "kind": "meteor"}, "kind"),
        ({**OUTAGE, "starts_at": "igår"}, "starts_at"),
        ({**OUTAGE, "service_ids": ["x"]}, "service_ids"),
        ({**OUTAGE, "colour": "red"}, "colour"),
        ({**OUTAGE, "service_ids": [999]}, "services"),
        ({**OUTAGE, "service_names": ["Finns inte"]}, "service_names"),
        (
            {
                "kind": "service_window",
                "title": "F",
                "starts_at": "2030-01-01T10:00:00Z",
                "ends_at": "2030-01-01T09:00:00Z",
            },
            "ends_at",
        ),
    ],
)
def test_invalid_fields_are_422_naming_the_field(client, session, payload, field):
    token = _token(session)
    response = client.post("/api/v1/notices", json=payload, headers=_h(token))
    assert response.status_code == 422, response.json
    assert field in response.json["message"]
    assert session.scalars(select(Notice)).all() == []


def test_invalid_json_is_400(client, session):
    token = _token(session)
    response = client.post(
        "/api/v1/notices", data="{not json", headers={**_h(token), "Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422)
    assert response.json["message"]


def test_json_array_instead_of_object_is_refused(client, session):
    token = _token(session)
    response = client.post("/api/v1/notices", json=["x"], headers=_h(token))
    assert response.status_code == 422


def test_unknown_notice_is_404_json(client, session):
    token = _token(session)
    response = client.post("/api/v1/notices/999/publish", headers=_h(token))
    assert response.status_code == 404
    assert "999" in response.json["message"]


def test_update_on_draft_is_422(client, session):
    token = _token(session)
    notice_id = client.post("/api/v1/notices", json=OUTAGE, headers=_h(token)).json["id"]
    response = client.post(f"/api/v1/notices/{notice_id}/updates", json={"body": "x"}, headers=_h(token))
    assert response.status_code == 422
    assert session.get(Notice, notice_id).status is NoticeStatus.draft


def test_openapi_document_lists_paths_and_schemas(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.json
    assert doc["openapi"].startswith("3.")
    for path in (
        "/api/v1/notices",
        "/api/v1/notices/{notice_id}",
        "/api/v1/notices/{notice_id}/publish",
        "/api/v1/notices/{notice_id}/updates",
        "/api/v1/notices/{notice_id}/delivery",
    ):
        assert path in doc["paths"], path
    body = doc["paths"]["/api/v1/notices"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("NoticeIn")
    schema = doc["components"]["schemas"]["NoticeIn"]
    assert "title" in schema["required"]
    assert "bearerAuth" in doc["components"]["securitySchemes"]
    failure = doc["components"]["schemas"]["DeliveryFailure"]["properties"]
    assert {"address", "answer", "attempts"} <= set(failure)


def test_token_page_lists_and_revokes(client, auth, session):
    auth.login(Role.viewer)
    created = client.post("/account/tokens/", data={"name": "skript"})
    assert created.status_code == 200
    html = created.get_data(as_text=True)
    assert "visas bara nu" in html
    row = session.scalars(select(ApiToken)).one()
    assert row.prefix in html
    response = client.post(f"/account/tokens/{row.id}/revoke")
    assert response.status_code == 302
    session.expire_all()
    assert session.get(ApiToken, row.id).revoked_at is not None
    assert "Återkallad" in client.get("/account/tokens/").get_data(as_text=True)


def test_someone_elses_token_cannot_be_revoked(client, auth, session):
    other = factories.make_user(session, email="other@example.org", role=Role.coordinator)
    row, _plain = token_services.create_token(session, other)
    session.commit()
    auth.login(Role.coordinator)
    assert client.post(f"/account/tokens/{row.id}/revoke").status_code == 403
    assert row.prefix not in client.get("/account/tokens/").get_data(as_text=True)


def test_times_without_offset_are_swedish_time(client, session):
    token = _token(session)
    response = client.post(
        "/api/v1/notices",
        json={
            "kind": "service_window",
            "title": "Fönster",
            "starts_at": "2030-06-01T18:00:00",
            "ends_at": "2030-06-01T20:00:00+02:00",
        },
        headers=_h(token),
    )
    assert response.status_code == 201, response.json
    assert response.json["starts_at"] == "2030-06-01T16:00:00+00:00"
    assert response.json["ends_at"] == "2030-06-01T18:00:00+00:00"


def test_revoke_token_command_by_prefix(runner, session, client):
    token = _token(session)
    row = session.scalars(select(ApiToken)).one()
    result = runner.invoke(args=["commsplan", "revoke-token", row.prefix])
    assert result.exit_code == 0, result.output
    assert client.get("/api/v1/notices", headers=_h(token)).status_code == 401
    assert runner.invoke(args=["commsplan", "revoke-token", "cp_nothing"]).exit_code != 0


def test_inactive_users_token_stops_working(client, session):
    token = _token(session)
    user = session.scalars(select(ApiToken)).one().user
    user.active = False
    session.commit()
    assert client.get("/api/v1/notices", headers=_h(token)).status_code == 401


def test_admin_sees_everyones_tokens(client, auth, session):
    other = factories.make_user(session, email="other@example.org", role=Role.viewer)
    row, _plain = token_services.create_token(session, other, "deras")
    session.commit()
    auth.login(Role.admin)
    page = client.get("/account/tokens/").get_data(as_text=True)
    assert "other@example.org" in page and row.prefix in page
    assert client.post(f"/account/tokens/{row.id}/revoke").status_code == 302


@pytest.mark.parametrize(
    ("headers", "expected", "foreign"),
    [
        ({}, "title: Längden måste vara mellan 1 och 200.", "Length must"),
        ({"Accept-Language": "en"}, "title: Length must be between 1 and 200.", "Längden"),
    ],
)
def test_validation_messages_are_in_one_language(client, session, headers, expected, foreign):
    token = _token(session)
    payload = {**OUTAGE, "title": "", "colour": "red", "reminder_minutes": -1}
    response = client.post("/api/v1/notices", json=payload, headers={**_h(token), **headers})
    assert response.status_code == 422
    message = response.json["message"]
    assert expected in message
    assert foreign not in message and foreign not in str(response.json["errors"])
    if not headers:
        assert "colour: Okänt fält." in message
        assert "reminder_minutes: Måste vara minst 0." in message
        assert "Unknown field" not in message and "Must be" not in message


def test_every_marshmallow_message_has_a_catalogued_text():
    """A new marshmallow release with a new message fails here instead of leaking English."""
    templates = set()
    for _name, cls in inspect.getmembers(fields, inspect.isclass):
        templates |= set(getattr(cls, "default_error_messages", {}).values())
    for cls in (validate.Length, validate.Equal, validate.NoneOf, validate.Regexp, validate.ContainsNoneOf):
        templates |= {v for k, v in vars(cls).items() if k.startswith(("message", "default_message"))}
    missing = {t for t in templates if t not in TEMPLATES}
    assert missing == set()


def test_api_errors_of_our_own_follow_accept_language(client, session):
    token = _token(session)
    assert (
        client.get("/api/v1/notices/999", headers=_h(token)).json["message"] == "Meddelande 999 finns inte."
    )
    english = client.get("/api/v1/notices/999", headers={**_h(token), "Accept-Language": "en-GB,en;q=0.8"})
    assert english.json["message"] == "Notice 999 does not exist."
    assert (
        client.get("/api/v1/notices", headers={"Accept-Language": "en"})
        .json["message"]
        .startswith("Missing or invalid token")
    )


def test_api_takes_english_wording_and_the_real_end_of_an_outage(client, session):
    token = _token(session)
    payload = OUTAGE | {
        "title_en": "The Journal is down",
        "body_en": "We are investigating.",
        "starts_at": "2026-03-02T08:00:00+01:00",
    }
    created = client.post("/api/v1/notices", json=payload, headers=_h(token))
    assert created.status_code == 201, created.json
    assert created.json["title_en"] == "The Journal is down"
    assert created.json["body_en"] == "We are investigating."
    notice_id = created.json["id"]
    assert client.post(f"/api/v1/notices/{notice_id}/publish", headers=_h(token)).status_code == 200

    close = f"/api/v1/notices/{notice_id}/close"
    future = client.post(close, json={"ended_at": "2099-01-01T00:00:00Z"}, headers=_h(token))
    assert future.status_code == 422 and "framtiden" in future.json["message"]
    early = client.post(close, json={"ended_at": "2026-03-02T07:00:00+01:00"}, headers=_h(token))
    assert early.status_code == 422 and "före starten" in early.json["message"]
    closed = client.post(close, json={"ended_at": "2026-03-02T09:30:00+01:00"}, headers=_h(token))
    assert closed.status_code == 200, closed.json
    assert closed.json["status"] == "closed"
    assert closed.json["ends_at"].startswith("2026-03-02T08:30:00")


def test_delivery_lists_failed_addresses_with_the_servers_answer_page_by_page(
    client, session, runner, outbox
):
    plan = small_plan(session)
    token = _token(session)
    created = client.post(
        "/api/v1/notices", json={**OUTAGE, "service_ids": [plan.journalen.id]}, headers=_h(token)
    )
    notice_id = created.json["id"]
    assert client.post(f"/api/v1/notices/{notice_id}/publish", headers=_h(token)).status_code == 200
    outbox.scripted_replies = ["550 5.1.1 Mottagaren finns inte", "554 5.7.1 Spärrad"]
    assert runner.invoke(args=["commsplan", "deliver"]).exit_code == 0

    url = f"/api/v1/notices/{notice_id}/delivery"
    first = client.get(f"{url}?per_page=1", headers=_h(token))
    assert first.status_code == 200, first.json
    assert first.json["failed"] == 2 and first.json["page"] == 1 and first.json["per_page"] == 1
    second = client.get(f"{url}?per_page=1&page=2", headers=_h(token))
    third = client.get(f"{url}?per_page=1&page=3", headers=_h(token))
    failures = first.json["failures"] + second.json["failures"]
    assert third.json["failures"] == []
    assert {f["address"] for f in failures} == {"drift@example.org", "strateg@example.org"}
    assert {f["answer"] for f in failures} == {"550 5.1.1 Mottagaren finns inte", "554 5.7.1 Spärrad"}
    assert all(f["attempts"] == 1 for f in failures)

    for bad in ("page=0", "per_page=501", "page=" + "9" * 309, "page=1.5", "per_page=x"):
        refused = client.get(f"{url}?{bad}", headers=_h(token))
        assert refused.status_code == 422, bad
