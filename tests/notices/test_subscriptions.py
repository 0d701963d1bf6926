"""Explicit subscriptions and the one-click unsubscribe link in every notice mail."""

from __future__ import annotations

from sqlalchemy import select

from commsplan.auth.models import Role
from commsplan.notices import services
from commsplan.subscriptions import services as subscription_services
from commsplan.subscriptions.models import Subscription
from tests import factories
from tests.notices.helpers import make_notice, small_plan


def test_one_click_unsubscribe_from_a_delivered_mail(client, session, runner, outbox):
    plan = small_plan(session)
    fan = factories.make_contact(session, name="Fan", email="fan@example.org")
    subscription_services.subscribe(session, fan, service=plan.journalen)
    notice = make_notice(session, service_ids=[plan.journalen.id])
    services.publish(session, notice, None)
    session.commit()
    assert runner.invoke(args=["commsplan", "deliver"]).exit_code == 0
    mail = outbox.to("fan@example.org")[0]
    url = mail["List-Unsubscribe"].strip("<>")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    path = url.removeprefix("https://commsplan.example.org")

    # A link scanner's GET changes nothing; the RFC 8058 POST does, without log-in or form token.
    assert "Ja, avsluta prenumerationen" in client.get(path).get_data(as_text=True)
    assert session.scalars(select(Subscription)).all()
    response = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert "du får inga fler mejl genom den prenumerationen" in response.get_data(as_text=True)
    assert session.scalars(select(Subscription)).all() == []

    notice2 = make_notice(session, service_ids=[plan.journalen.id])
    people = {p.email: p for p in services.recipients(session, notice2)}
    assert people["drift@example.org"].included
    assert "fan@example.org" not in people


def test_tampered_token_is_refused(client):
    assert client.post("/unsubscribe/not-a-token").status_code == 404


def test_unsubscribed_person_on_list_for_their_role_is_left_out(client, session):
    plan = small_plan(session)
    session.commit()
    token = None
    with client.application.test_request_context():
        token = subscription_services.unsubscribe_token("drift@example.org")
    client.post(f"/unsubscribe/{token}")
    people = {
        p.email: p
        for p in services.recipients(session, make_notice(session, service_ids=[plan.journalen.id]))
    }
    assert people["drift@example.org"].included is False


def test_coordinator_manages_subscriptions(client, auth, session):
    plan = small_plan(session)
    session.commit()
    auth.login(Role.coordinator)
    assert client.get("/subscriptions").status_code == 200
    response = client.post(
        "/subscriptions", data={"contact": str(plan.bystander.id), "target": f"service:{plan.tidbok.id}"}
    )
    assert response.status_code == 302
    again = client.post(
        "/subscriptions", data={"contact": str(plan.bystander.id), "target": f"service:{plan.tidbok.id}"}
    )
    assert again.status_code == 400
    assert "prenumererar redan" in again.get_data(as_text=True)
    client.post(
        "/subscriptions",
        data={"contact": str(plan.bystander.id), "target": "kind:release", "frequency": "weekly"},
    )
    page = client.get("/subscriptions").get_data(as_text=True)
    assert "E-tjänsten Webbtidbok" in page
    assert "Veckosammanfattning (måndagar)" in page  # the coordinator chose the weekly digest
    bad = client.post(
        "/subscriptions", data={"contact": str(plan.bystander.id), "target": "kind:outage", "frequency": "x"}
    )
    assert bad.status_code == 400
    subscription = session.scalars(select(Subscription)).first()
    assert client.post(f"/subscriptions/{subscription.id}/delete").status_code == 302
    assert len(session.scalars(select(Subscription)).all()) == 1


def test_one_contacts_subscriptions(client, auth, session):
    plan = small_plan(session)
    subscription_services.subscribe(session, plan.bystander, service=plan.tidbok)
    subscription_services.subscribe(session, plan.ops, service=plan.journalen)
    session.commit()
    auth.login(Role.viewer)
    page = client.get(f"/subscriptions?contact={plan.bystander.id}").get_data(as_text=True)
    assert "Prenumerationer för Annan" in page
    assert "E-tjänsten Webbtidbok" in page and "E-tjänsten Journalen" not in page
    assert client.get("/subscriptions?contact=9999").status_code == 404
