"""The delivery pages: counts, each recipient's state, and the retry button."""

from __future__ import annotations

from commsplan.auth.models import Role
from commsplan.delivery.models import DeliveryState, MessageKind
from commsplan.delivery.services import Addressee
from commsplan.delivery.views import KIND_LABELS
from tests.delivery.conftest import items
from tests.notices.helpers import make_notice


def _failed_notice(put, drain, outbox):
    message = put(
        Addressee("gone@example.org", name="Borta Bortsson"),
        "ok@example.org",
        "retry@example.org",
        source_type="notice",
        source_id=7,
    )
    outbox.scripted_replies = ["550 5.1.1 Mottagaren finns inte", "250 OK", "421 4.7.0 Försök senare"]
    drain()
    outbox.clear()
    return message


def test_delivery_page_shows_counts_and_each_recipients_state(put, drain, outbox, client, auth):
    _failed_notice(put, drain, outbox)
    auth.login(Role.viewer)

    response = client.get("/delivery/notice/7")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Leverans: Driftstörning: Journalen" in page
    assert "<strong>1</strong> Skickat" in page
    assert "<strong>1</strong> Misslyckades" in page
    assert "<strong>1</strong> Försöker igen" in page
    assert "Borta Bortsson" in page and "550 5.1.1 Mottagaren finns inte" in page
    assert "421 4.7.0 Försök senare" in page
    assert "/retry" not in page, "viewers get no retry button"


def test_state_filter_and_bad_filter(put, drain, outbox, client, auth):
    _failed_notice(put, drain, outbox)
    auth.login(Role.viewer)
    page = client.get("/delivery/notice/7?state=failed").get_data(as_text=True)
    assert "gone@example.org" in page and "ok@example.org" not in page
    assert client.get("/delivery/notice/7?state=nonsense").status_code == 400


def test_retry_button_queues_failed_recipients_and_they_are_sent(put, drain, outbox, client, auth):
    message = _failed_notice(put, drain, outbox)
    auth.login(Role.coordinator)
    page = client.get("/delivery/notice/7").get_data(as_text=True)
    assert 'action="/delivery/notice/7/retry"' in page

    response = client.post("/delivery/notice/7/retry", follow_redirects=True)

    assert response.status_code == 200
    assert "1 mottagare står i kö igen" in response.get_data(as_text=True)
    gone = next(r for r in items(message) if r.to_address == "gone@example.org")
    assert gone.state is DeliveryState.queued and gone.attempts == 0
    drain()
    assert [e.rcpt_tos for e in outbox.envelopes] == [["gone@example.org"]]
    assert next(r for r in items(message) if r.to_address == "gone@example.org").state is DeliveryState.sent


def test_viewer_cannot_retry(put, drain, outbox, client, auth):
    message = _failed_notice(put, drain, outbox)
    auth.login(Role.viewer)
    assert client.post("/delivery/notice/7/retry").status_code == 403
    assert client.post(f"/delivery/message/{message.id}/retry").status_code == 403
    assert {r.state for r in items(message)} == {
        DeliveryState.failed,
        DeliveryState.sent,
        DeliveryState.retrying,
    }


def test_overview_lists_recent_messages_with_counts(put, drain, outbox, client, auth):
    message = _failed_notice(put, drain, outbox)
    put("x@example.org", subject="Inbjudan: Nätverksmöte", kind="invitation", source_type="", source_id=None)
    auth.login(Role.viewer)

    page = client.get("/delivery/").get_data(as_text=True)

    assert "Driftstörning: Journalen" in page and 'href="/delivery/notice/7"' in page
    assert "Inbjudan: Nätverksmöte" in page
    other = client.get(f"/delivery/message/{message.id + 1}").get_data(as_text=True)
    assert "<strong>1</strong> I kö" in other


def test_retry_a_single_message(put, drain, outbox, client, auth):
    message = _failed_notice(put, drain, outbox)
    auth.login(Role.coordinator)
    response = client.post(f"/delivery/message/{message.id}/retry")
    assert response.status_code == 302
    assert sum(r.state is DeliveryState.queued for r in items(message)) == 1


def test_empty_source_page_and_unknown_message(session, client, auth):
    auth.login(Role.viewer)
    draft = make_notice(session)
    session.commit()
    assert client.get(f"/delivery/notice/{draft.id}").status_code == 200
    assert client.get("/delivery/notice/999").status_code == 404
    assert client.get("/delivery/occurrence/999").status_code == 404
    assert client.get("/delivery/message/999").status_code == 404


def test_unknown_source_types_are_404_not_an_empty_page(put, client, auth):
    put("a@example.org", source_type="notice", source_id=7)
    auth.login(Role.coordinator)
    assert client.get("/delivery/foo/1").status_code == 404
    assert client.get("/delivery/foo/7").status_code == 404
    assert client.post("/delivery/foo/7/retry").status_code == 404


def test_every_message_kind_has_a_label_and_no_code_is_shown(put, client, auth):
    assert set(KIND_LABELS) == set(MessageKind)
    for kind in MessageKind:
        put(
            Addressee("p@example.org", reason=kind.value),
            kind=kind.value,
            source_type="occurrence",
            source_id=3,
        )
    auth.login(Role.viewer)
    html = client.get("/delivery/occurrence/3").get_data(as_text=True)
    assert "Ändrad anmälan" in html and "Ändrad inbjudan" in html and "Inställt möte" in html
    for kind in MessageKind:
        assert f">{kind.value}<" not in html, kind


def test_delivery_pages_need_login(client):
    assert client.get("/delivery/").status_code == 302


def test_retry_without_csrf_token_is_refused(app, put, drain, outbox, client, auth):
    message = _failed_notice(put, drain, outbox)
    auth.login(Role.coordinator)
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post("/delivery/notice/7/retry").status_code == 400
    assert sum(r.state is DeliveryState.failed for r in items(message)) == 1


def test_recipient_list_pages_keep_the_state_filter(app, put, client, auth):
    app.config["PAGE_SIZE"] = 2
    put(*(f"p{n}@example.org" for n in range(5)), source_type="notice", source_id=9)
    auth.login(Role.viewer)
    first = client.get("/delivery/notice/9?state=queued").get_data(as_text=True)
    assert 'href="/delivery/notice/9?page=2&amp;state=queued" rel="next"' in first
    assert 'rel="prev"' not in first
    last = client.get("/delivery/notice/9?state=queued&page=3").get_data(as_text=True)
    assert 'href="/delivery/notice/9?page=2&amp;state=queued" rel="prev"' in last
    assert 'rel="next"' not in last
