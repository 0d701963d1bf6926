from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from commsplan.auth.models import Role
from commsplan.delivery.models import OutboxItem
from commsplan.notices import services
from commsplan.notices.models import Notice, NoticeKind, NoticeStatus, OutageState
from commsplan.timeutil import STOCKHOLM, utcnow
from tests.notices.helpers import at, make_notice, prepared_notice, small_plan


def _outbox_rows(session) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(OutboxItem))


def test_coordinator_creates_outage_draft(client, auth, session):
    plan = small_plan(session)
    session.commit()
    auth.login(Role.coordinator)
    page = client.get("/notices/new?kind=outage")
    assert page.status_code == 200
    assert "Nytt meddelande" in page.get_data(as_text=True)

    response = client.post(
        "/notices/new",
        data={
            "kind": "outage",
            "title": "Journalen nere",
            "body_markdown": "Vi felsöker.",
            "services": [str(plan.journalen.id)],
            "severity": "high",
            "outage_state": "investigating",
        },
    )
    assert response.status_code == 302
    notice = session.scalars(select(Notice)).one()
    assert notice.status is NoticeStatus.draft
    assert [s.name for s in notice.services] == ["Journalen"]
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Journalen nere" in detail and "Utkast" in detail


def test_invalid_form_is_shown_again_with_400_and_nothing_stored(client, auth, session):
    auth.login(Role.coordinator)
    start = "2026-05-01T10:00"
    response = client.post(
        "/notices/new",
        data={
            "kind": "service_window",
            "title": "Fönster",
            "starts_at": start,
            "ends_at": "2026-05-01T09:00",
        },
    )
    assert response.status_code == 400
    assert "Slutet måste ligga efter starten." in response.get_data(as_text=True)
    response = client.post("/notices/new", data={"kind": "outage", "title": ""})
    assert response.status_code == 400
    assert session.scalar(select(func.count()).select_from(Notice)) == 0


def test_viewer_reads_but_cannot_create(client, auth, session):
    make_notice(session)
    session.commit()
    auth.login(Role.viewer)
    assert client.get("/notices/").status_code == 200
    assert client.post("/notices/new", data={"kind": "outage", "title": "x"}).status_code == 403


def test_list_filters_by_kind_and_status(client, auth, session):
    make_notice(session, title="Störning A")
    make_notice(session, NoticeKind.release, title="Release B")
    session.commit()
    auth.login(Role.viewer)
    page = client.get("/notices/?kind=release").get_data(as_text=True)
    assert "Release B" in page and "Störning A" not in page
    page = client.get("/notices/?status=published").get_data(as_text=True)
    assert "Release B" not in page and "Störning A" not in page
    assert client.get("/notices/?kind=nonsense").status_code == 400


def test_a_long_recipient_list_is_shown_a_page_at_a_time(app, client, auth, session):
    app.config["PAGE_SIZE"] = 2
    plan = small_plan(session)
    notice = make_notice(session, service_ids=[plan.journalen.id])
    session.commit()
    auth.login(Role.coordinator)
    for address in ("a1@example.org", "a2@example.org", "a3@example.org"):
        client.post(f"/notices/{notice.id}/recipients", data={"email": address})
    client.get("/notices/")  # shows the last "added" message

    first = client.get(f"/notices/{notice.id}/recipients").get_data(as_text=True)
    assert "5 personer får meddelandet." in first, "the count is the whole list's"
    assert "sida 1 av 3" in first and 'rel="next"' in first and 'rel="prev"' not in first
    shown = [a for a in ("a1@", "a2@", "a3@", "drift@", "strateg@") if a in first]
    assert len(shown) == 2
    last = client.get(f"/notices/{notice.id}/recipients?page=3").get_data(as_text=True)
    assert "sida 3 av 3" in last and 'rel="prev"' in last and 'rel="next"' not in last
    beyond = client.get(f"/notices/{notice.id}/recipients?page=99999999999999999999")
    assert beyond.status_code == 200 and "sida 1 av 3" in beyond.get_data(as_text=True), "as every list does"
    assert "sida 3 av 3" in client.get(f"/notices/{notice.id}/recipients?page=7").get_data(as_text=True)


def test_recipients_preview_add_remove_then_publish_with_confirmation(client, auth, session):
    plan = small_plan(session)
    notice = make_notice(session, service_ids=[plan.journalen.id])
    session.commit()
    auth.login(Role.coordinator)

    page = client.get(f"/notices/{notice.id}/recipients").get_data(as_text=True)
    assert "drift@example.org" in page
    assert "Ansvarig enligt ansvarstabellen: ITC för Journalen / T4" in page
    assert "2 personer får meddelandet." in page

    assert (
        client.post(f"/notices/{notice.id}/recipients", data={"email": "extra@example.org"}).status_code
        == 302
    )
    assert client.post(f"/notices/{notice.id}/recipients", data={"email": "nonsense"}).status_code == 400
    client.post(f"/notices/{notice.id}/recipients/remove", data={"email": "strateg@example.org"})
    page = client.get(f"/notices/{notice.id}/recipients").get_data(as_text=True)
    assert "Tillagd av samordnare" in page and "Borttagen av samordnare" in page

    confirm = client.get(f"/notices/{notice.id}/publish").get_data(as_text=True)
    assert "Ja, publicera och skicka till 2" in confirm

    # The list changed after the page was shown: ask again, send nothing.
    stale = client.post(f"/notices/{notice.id}/publish", data={"expected": "5"})
    assert stale.status_code == 400
    assert _outbox_rows(session) == 0

    done = client.post(f"/notices/{notice.id}/publish", data={"expected": "2"})
    assert done.status_code == 302
    session.expire_all()
    assert session.get(Notice, notice.id).status is NoticeStatus.published
    assert sorted(session.scalars(select(OutboxItem.to_address))) == [
        "drift@example.org",
        "extra@example.org",
    ]
    assert (
        client.post(f"/notices/{notice.id}/recipients", data={"email": "late@example.org"}).status_code == 409
    )


def test_published_notice_is_not_edited_but_updated(client, auth, session):
    plan = small_plan(session)
    notice = make_notice(session, service_ids=[plan.journalen.id])
    services.publish(session, notice, None)
    session.commit()
    auth.login(Role.coordinator)

    edit = client.get(f"/notices/{notice.id}/edit")
    assert edit.status_code == 302 and edit.headers["Location"].endswith(f"/notices/{notice.id}/update")
    assert client.post(f"/notices/{notice.id}/update", data={"body": ""}).status_code == 400

    response = client.post(
        f"/notices/{notice.id}/update", data={"body": "Orsaken är hittad.", "outage_state": "identified"}
    )
    assert response.status_code == 302
    session.expire_all()
    notice = session.get(Notice, notice.id)
    assert notice.outage_state is OutageState.identified
    detail = client.get(f"/notices/{notice.id}").get_data(as_text=True)
    assert "Orsaken är hittad." in detail
    assert "/delivery/notice/" in detail


@pytest.mark.activity_gate
def test_close_and_cancel_need_confirmation(client, auth, session):
    plan = small_plan(session)
    outage = make_notice(session, service_ids=[plan.journalen.id])
    window = prepared_notice(session, NoticeKind.service_window, service_ids=[plan.journalen.id])
    services.publish(session, outage, None)
    services.publish(session, window, None)
    session.commit()
    auth.login(Role.coordinator)

    assert "Ja, avsluta" in client.get(f"/notices/{outage.id}/close").get_data(as_text=True)
    assert client.post(f"/notices/{outage.id}/close", data={"body": "Löst."}).status_code == 302
    assert "Ja, ställ in" in client.get(f"/notices/{window.id}/cancel").get_data(as_text=True)
    assert client.post(f"/notices/{window.id}/cancel", data={}).status_code == 302
    session.expire_all()
    assert session.get(Notice, outage.id).status is NoticeStatus.closed
    assert session.get(Notice, outage.id).outage_state is OutageState.resolved
    assert session.get(Notice, window.id).status is NoticeStatus.cancelled


@pytest.mark.activity_gate
def test_reschedule_page(client, auth, session):
    plan = small_plan(session)
    window = prepared_notice(session, NoticeKind.service_window, service_ids=[plan.journalen.id])
    services.publish(session, window, None)
    session.commit()
    auth.login(Role.coordinator)
    assert client.get(f"/notices/{window.id}/reschedule").status_code == 200
    bad = client.post(
        f"/notices/{window.id}/reschedule",
        data={"starts_at": "2030-01-01T10:00", "ends_at": "2030-01-01T09:00"},
    )
    assert bad.status_code == 400
    ok = client.post(
        f"/notices/{window.id}/reschedule",
        data={"starts_at": "2030-01-01T10:00", "ends_at": "2030-01-01T12:00", "body": "Flyttat."},
    )
    assert ok.status_code == 302
    session.expire_all()
    window = session.get(Notice, window.id)
    assert window.starts_at.isoformat() == "2030-01-01T09:00:00+00:00"  # 10:00 Stockholm (CET)


def test_delete_draft_only(client, auth, session):
    draft = make_notice(session)
    published = make_notice(session)
    services.add_recipient(session, published, "a@example.org")
    services.publish(session, published, None)
    session.commit()
    auth.login(Role.coordinator)
    assert "Det här går inte att ångra." in client.get(f"/notices/{draft.id}/delete").get_data(as_text=True)
    assert client.post(f"/notices/{draft.id}/delete").status_code == 302
    assert "publicerat" in client.get(f"/notices/{published.id}/delete").get_data(as_text=True)
    client.post(f"/notices/{published.id}/delete")
    session.expire_all()
    assert session.get(Notice, draft.id) is None
    assert session.get(Notice, published.id) is not None


def test_markdown_is_sanitised(client, auth, session):
    notice = make_notice(session, body_markdown="Hej <script>alert(1)</script> [x](javascript:alert(1))")
    session.commit()
    auth.login(Role.viewer)
    page = client.get(f"/notices/{notice.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "javascript:" not in page


def test_menu_has_notices_entry(client, auth):
    auth.login(Role.viewer)
    page = client.get("/notices/").get_data(as_text=True)
    assert 'href="/notices/" aria-current="page"' in page
    assert 'href="/status"' in page


def test_closing_an_outage_sets_the_real_end_time(client, auth, session):
    auth.login(Role.coordinator)
    outage = make_notice(session, starts_at=at("2026-03-02 08:00"))
    services.add_recipient(session, outage, "mottagare@example.org")
    services.publish(session, outage, None)
    session.commit()

    form = client.get(f"/notices/{outage.id}/close").get_data(as_text=True)
    assert 'name="ended_at"' in form  # filled in with now
    # Only closing an outage asks for the end; calling it off does not.
    assert 'name="ended_at"' not in client.get(f"/notices/{outage.id}/cancel").get_data(as_text=True)

    future = (utcnow() + timedelta(hours=2)).astimezone(STOCKHOLM).strftime("%Y-%m-%dT%H:%M")
    response = client.post(f"/notices/{outage.id}/close", data={"ended_at": future})
    assert response.status_code == 400
    assert "Slutet kan inte ligga i framtiden." in response.get_data(as_text=True)
    response = client.post(f"/notices/{outage.id}/close", data={"ended_at": "2026-03-02T07:59"})
    assert response.status_code == 400
    assert "Slutet kan inte ligga före starten." in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Notice, outage.id).status is NoticeStatus.published
    assert _outbox_rows(session) == 1  # only the publishing mail

    response = client.post(
        f"/notices/{outage.id}/close", data={"ended_at": "2026-03-02T09:30", "body": "Löst."}
    )
    assert response.status_code == 302
    session.expire_all()
    closed = session.get(Notice, outage.id)
    assert closed.status is NoticeStatus.closed and closed.ends_at == at("2026-03-02 09:30")
