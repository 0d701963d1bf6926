"""The preferences page without log-in, RFC 8058 one-click, role requests, frequency."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from commsplan.extensions import db
from commsplan.notices import services as notice_services
from commsplan.notices.models import NoticeKind, Severity
from commsplan.subscriptions import services
from commsplan.subscriptions.models import Frequency, OptOut, RoleRequest, Subscription
from tests import factories
from tests.conftest import POSTGRES_URL
from tests.notices.helpers import make_notice, small_plan
from tests.subscriptions.helpers import deliver, link, one_click_path


def _follow(session, contact, service, kinds, frequency=Frequency.immediate):  # type: ignore[no-untyped-def]
    services.set_subscriptions(session, contact, services.Choices((service.id,), tuple(kinds), frequency))


def _publish(session, runner, **kwargs):  # type: ignore[no-untyped-def]
    notice = make_notice(session, **kwargs)
    notice_services.publish(session, notice, None)
    session.commit()
    deliver(runner)
    return notice


def test_every_mail_links_a_fresh_preferences_page(client, session, runner, outbox):
    plan = small_plan(session)
    fan = factories.make_contact(session, name="Fan", email="fan@example.org")
    _follow(session, fan, plan.journalen, [NoticeKind.outage])
    _publish(session, runner, service_ids=[plan.journalen.id])
    first = link(outbox.to("fan@example.org")[0], "/preferences/")
    duty = outbox.to("drift@example.org")[0]
    # Duty mail: preferences link, no global unsubscribe.
    assert duty["List-Unsubscribe"] is None and link(duty, "/preferences/")
    page = client.get(first).get_data(as_text=True)
    assert "Dina egna prenumerationer" in page and "Driftstörning – Journalen" in page

    # Edit: services × kinds × frequency.
    response = client.post(
        first,
        data={"services": [str(plan.tidbok.id)], "kinds": ["release", "general"], "frequency": "daily"},
    )
    assert response.status_code == 302
    rows = {(s.service_id, s.notice_kind, s.frequency) for s in session.scalars(select(Subscription))}
    assert rows == {
        (plan.tidbok.id, NoticeKind.release, Frequency.daily),
        (plan.tidbok.id, NoticeKind.general, Frequency.daily),
    }
    # What was dropped is an opt-out the coordinators see.
    opt_out = session.scalars(select(OptOut)).one()
    assert opt_out.via == "preferences" and "Journalen" in opt_out.description


def test_tampered_and_expired_preference_links(client, session, app):
    plan = small_plan(session)
    session.commit()
    with app.test_request_context():
        url = services.preferences_url(plan.strategist.id)
    path = url.removeprefix("https://commsplan.example.org")
    assert client.get(path).status_code == 200
    contact_part, rest = path.removeprefix("/preferences/").split(".", 1)
    assert client.get(f"/preferences/{plan.bystander.id}.{rest}").status_code == 404
    assert client.post(path + "x", data={"kinds": ["outage"], "frequency": "daily"}).status_code == 404
    app.config["PREFERENCES_LINK_DAYS"] = -1
    response = client.get(path)
    assert response.status_code == 410
    assert "Länken har gått ut" in response.get_data(as_text=True)


def test_bad_preferences_input_is_refused(client, session, app):
    plan = small_plan(session)
    fan = factories.make_contact(session, name="Fan", email="fan@example.org")
    _follow(session, fan, plan.journalen, [NoticeKind.outage])
    session.commit()
    with app.test_request_context():
        path = services.preferences_url(fan.id).removeprefix("https://commsplan.example.org")
    response = client.post(path, data={"kinds": [], "frequency": "daily"})
    assert response.status_code == 400
    assert "Välj minst en typ av meddelande." in response.get_data(as_text=True)
    response = client.post(path, data={"kinds": ["outage"], "services": ["99999"], "frequency": "daily"})
    assert response.status_code == 400
    assert session.scalar(select(func.count()).select_from(Subscription)) == 1


def test_rfc8058_post_ends_only_the_subscriptions_the_mail_came_through(client, session, runner, outbox):
    plan = small_plan(session)
    fan = factories.make_contact(session, name="Fan", email="fan@example.org")
    _follow(session, fan, plan.journalen, [NoticeKind.outage, NoticeKind.release])
    session.add(Subscription(contact_id=fan.id, service_id=plan.tidbok.id, notice_kind=NoticeKind.outage))
    session.commit()
    _publish(session, runner, service_ids=[plan.journalen.id])
    path = one_click_path(outbox.to("fan@example.org")[0])

    # GET (a link scanner) changes nothing.
    assert "Ja, avsluta prenumerationen" in client.get(path).get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Subscription)) == 3
    # POST without session or form token, as a mail client sends it.
    response = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    left = {(s.service_id, s.notice_kind) for s in session.scalars(select(Subscription))}
    assert left == {(plan.journalen.id, NoticeKind.release), (plan.tidbok.id, NoticeKind.outage)}
    # Idempotent: again, nothing more ends and no second opt-out is recorded.
    assert client.post(path).status_code == 200
    assert session.scalar(select(func.count()).select_from(OptOut)) == 1
    assert client.post("/one-click/garbage").status_code == 404


@pytest.mark.skipif(not POSTGRES_URL, reason="concurrent requests need PostgreSQL")
def test_concurrent_one_click_posts_do_not_fail(app, session, runner, outbox):
    plan = small_plan(session)
    fan = factories.make_contact(session, name="Fan", email="fan@example.org")
    _follow(session, fan, plan.journalen, [NoticeKind.outage])
    session.commit()
    _publish(session, runner, service_ids=[plan.journalen.id])
    path = one_click_path(outbox.to("fan@example.org")[0])
    codes: list[int] = []
    barrier = threading.Barrier(4)

    def post() -> None:
        with app.app_context():
            barrier.wait()
            codes.append(app.test_client().post(path).status_code)
            db.session.remove()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200] * 4
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Subscription)) == 0
    assert session.scalar(select(func.count()).select_from(OptOut)) == 1


def test_role_request_flow(client, auth, session, app):
    plan = small_plan(session)
    session.commit()
    with app.test_request_context():
        path = services.preferences_url(plan.strategist.id).removeprefix("https://commsplan.example.org")
    page = client.get(path).get_data(as_text=True)
    assert "Det du får på grund av din roll" in page
    assert "Mottagare av information: Nära vård och hälsa (E-hälsostrateg)" in page
    response = client.post(path + "/role-request", follow_redirects=True)
    assert "Samordnarna har fått ditt besked" in response.get_data(as_text=True)
    client.post(path + "/role-request")  # twice: still one open request
    request = session.scalars(select(RoleRequest)).one()
    assert "E-hälsostrateg" in request.roles

    # Not silently dropped: duty mail goes on until a coordinator acts.
    notice = make_notice(session, kind=NoticeKind.general, title="Info")
    assert "strateg@example.org" in {
        p.email for p in notice_services.included(notice_services.recipients(session, notice))
    }

    auth.login("coordinator")
    listing = client.get("/subscriptions/requests").get_data(as_text=True)
    assert "Strateg" in listing and "Markera som hanterad" in listing
    contact_page = client.get(f"/plan/contacts/{plan.strategist.id}").get_data(as_text=True)
    assert "Markera som hanterad" in contact_page
    assert client.post(f"/subscriptions/requests/{request.id}/handled").status_code == 302
    session.expire_all()
    assert session.get(RoleRequest, request.id).handled_at is not None


def test_highest_severity_outage_reaches_digest_followers_at_once(session):
    plan = small_plan(session)
    fan = factories.make_contact(session, name="Fan", email="fan@example.org")
    _follow(session, fan, plan.journalen, [NoticeKind.outage], Frequency.weekly)
    high = make_notice(session, service_ids=[plan.journalen.id], severity=Severity.high)
    critical = make_notice(session, service_ids=[plan.journalen.id], severity=Severity.critical)
    assert "fan@example.org" not in {p.email for p in notice_services.recipients(session, high)}
    people = {p.email: p for p in notice_services.recipients(session, critical)}
    assert people["fan@example.org"].included
    assert [
        s.contact_id for s in services.subscribers_for(session, NoticeKind.outage, [plan.journalen.id])
    ] == []


def test_role_based_recipient_may_take_releases_in_the_digest(client, session, app):
    plan = small_plan(session)
    session.commit()
    with app.test_request_context():
        path = services.preferences_url(plan.strategist.id).removeprefix("https://commsplan.example.org")
    assert client.post(path + "/role-digest", data={"role_digest": "daily"}).status_code == 302
    release = make_notice(session, kind=NoticeKind.release, service_ids=[plan.journalen.id])
    people = {p.email: p for p in notice_services.recipients(session, release)}
    assert people["strateg@example.org"].included is False
    assert people["strateg@example.org"].excluded_reason == "Får detta i sin sammanfattning"
    # Outages and service windows always reach them at once.
    outage = make_notice(session, service_ids=[plan.journalen.id])
    assert {p.email: p for p in notice_services.recipients(session, outage)}["strateg@example.org"].included
    assert client.post(path + "/role-digest", data={"role_digest": "never"}).status_code == 400


def test_older_unsubscribe_links_are_listed_as_opt_outs(client, auth, session, app):
    plan = small_plan(session)
    session.commit()
    with app.test_request_context():
        token = services.unsubscribe_token("drift@example.org")
    assert client.post(f"/unsubscribe/{token}").status_code == 200
    assert client.post(f"/unsubscribe/{token}").status_code == 200  # once in the list
    auth.login("viewer")
    page = client.get("/subscriptions/requests").get_data(as_text=True)
    assert page.count("Alla utskick (äldre avregistreringslänk)") == 1
    assert plan.ops.name in client.get(f"/plan/contacts/{plan.ops.id}").get_data(as_text=True)
    assert "Alla utskick" in client.get(f"/plan/contacts/{plan.ops.id}").get_data(as_text=True)
