"""The history: an entry for each kind of change, with who did it; per object and searchable."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from commsplan.activities import services as activity_services
from commsplan.api import services as token_services
from commsplan.audit import services as audit
from commsplan.audit.models import AuditEntry
from commsplan.auth.models import Role
from commsplan.notices.models import NoticeKind
from commsplan.timeutil import utcnow
from tests import factories
from tests.activities.helpers import complete_activity
from tests.notices.helpers import make_notice, small_plan


def _entries(session, object_type: str) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    rows = session.scalars(
        select(AuditEntry).where(AuditEntry.object_type == object_type).order_by(AuditEntry.id)
    )
    rows = list(rows)
    return [(e.action, e.actor_name, e.object_label) for e in rows]


def test_activity_created_changed_deleted_by_the_logged_in_user(client, auth, session):
    auth.login(Role.coordinator)
    client.post("/activities/new", data={"title": "Nyhetsbrev", "kind": "newsletter", "occurrence": "0"})
    activity_id = session.scalar(select(AuditEntry.object_id).where(AuditEntry.object_type == "activity"))
    client.post(
        f"/activities/{activity_id}/edit",
        data={"title": "Nyhetsbrev april", "kind": "newsletter", "occurrence": "0", "purpose": "Informera"},
    )
    page = client.get(f"/activities/{activity_id}").get_data(as_text=True)
    assert "Historik" in page and "Test skapade" in page and "Test ändrade (title, purpose)" in page
    client.post(f"/activities/{activity_id}/delete", data={})
    assert _entries(session, "activity") == [
        ("created", "Test", "Nyhetsbrev"),
        ("changed", "Test", "Nyhetsbrev april"),
        ("deleted", "Test", "Nyhetsbrev april"),
    ]
    changed = session.scalars(select(AuditEntry).where(AuditEntry.action == "changed")).first()
    assert changed.changes["title"] == ["Nyhetsbrev", "Nyhetsbrev april"]


def test_notice_published_and_sent_through_the_api_names_the_token_user(client, session):
    plan = small_plan(session)
    user = factories.make_user(session, email="monitor@example.org", name="Övervakningen")
    _row, token = token_services.create_token(session, user, "monitor")
    session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    created = client.post(
        "/api/v1/notices",
        headers=headers,
        json={"kind": "outage", "title": "EPJ nere", "severity": "high", "service_ids": [plan.journalen.id]},
    ).get_json()
    client.post(f"/api/v1/notices/{created['id']}/publish", headers=headers)
    client.post(f"/api/v1/notices/{created['id']}/updates", headers=headers, json={"body": "Felsöker"})
    assert [(a, who) for a, who, _label in _entries(session, "notice")] == [
        ("created", "Övervakningen"),
        ("published", "Övervakningen"),
        ("sent", "Övervakningen"),
    ]
    # API requests that only touch the token's last use leave no history.
    assert not session.scalars(select(AuditEntry).where(AuditEntry.object_type == "api_token")).all()[1:]


def test_plan_changes_and_the_admin_search(client, auth, session):
    contact = factories.make_contact(session, name="Kalle", email="kalle@example.org")
    session.commit()
    contact.name = "Karl"
    session.commit()
    auth.login(Role.viewer)
    assert client.get("/admin/history/").status_code == 403
    auth.logout()
    auth.login(Role.admin)
    page = client.get("/admin/history/?q=karl").get_data(as_text=True)
    assert "contact" in page and "Kalle → Karl" in page, page[page.find("<main") :][:3000]
    assert client.get("/admin/history/?action=bogus").status_code == 400
    rows, total = audit.search(session, object_type="contact", action="changed")
    assert total == 1 and rows[0].actor_name == ""  # made outside a request: the system


def test_history_is_kept_for_the_configured_period(session, app):
    contact = factories.make_contact(session)
    session.commit()
    entry = session.scalars(select(AuditEntry)).one()
    entry.at = utcnow() - timedelta(days=800)
    session.commit()
    factories.make_contact(session)
    session.commit()
    assert audit.purge(session, utcnow(), app.config["AUDIT_RETENTION_DAYS"]) == 1
    kept = list(session.scalars(select(AuditEntry)))
    assert len(kept) == 1 and kept[0].object_id != contact.id


def test_changes_to_an_activitys_groups_and_a_notices_links_are_the_objects_changes(session):
    plan = small_plan(session)
    notice = make_notice(session, NoticeKind.release, service_ids=[plan.journalen.id])
    activity = complete_activity(session, notice)
    session.commit()
    data = activity_services.data_from_activity(activity)
    data.groups[0].core_message = "Ny text till personalen"
    activity_services.update_activity(session, activity, data)
    notice.services = [plan.journalen, plan.tidbok]
    session.commit()
    changed = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "changed").order_by(AuditEntry.id)
    ).all()
    by_type = {e.object_type: e for e in changed}
    assert by_type["activity"].object_id == activity.id
    assert by_type["activity"].changes["Vårdgivare – medarbetare: core_message"] == [
        "Ny knapp för ombokning i vyn.",
        "Ny text till personalen",
    ]
    assert by_type["notice"].changes["services"] == ["Journalen", "Journalen, Webbtidbok"]
    assert len([e for e in changed if e.object_type == "activity"]) == 1
