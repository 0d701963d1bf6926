"""Self-service sign-up on /subscribe with double opt-in."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from commsplan.delivery.hooks import run_periodic
from commsplan.extensions import db
from commsplan.notices import services as notice_services
from commsplan.notices.models import NoticeKind
from commsplan.plan.models import Contact
from commsplan.subscriptions import services
from commsplan.subscriptions.models import (
    Frequency,
    PendingSubscription,
    SubscriberProfile,
    Subscription,
)
from commsplan.timeutil import utcnow
from tests import factories
from tests.conftest import POSTGRES_URL
from tests.notices.helpers import make_notice, small_plan
from tests.subscriptions.helpers import deliver, link


def _form(**overrides):  # type: ignore[no-untyped-def]
    data = {
        "email": "Ny.Person@Example.org",
        "name": "Ny Person",
        "organisation": "Vårdcentralen Luthagen",
        "language": "sv",
        "services": [],
        "kinds": ["outage", "release"],
        "frequency": "immediate",
    }
    data.update(overrides)
    return data


def _count(model) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(model))


def test_opt_in_end_to_end(client, session, runner, outbox):
    plan = small_plan(session)
    session.commit()
    page = client.get("/subscribe").get_data(as_text=True)
    assert "Så hanterar vi dina uppgifter" in page  # the privacy notice is on the form
    response = client.post("/subscribe", data=_form(services=[str(plan.journalen.id)]))
    assert response.status_code == 200
    assert "Titta i din inkorg" in response.get_data(as_text=True)
    assert _count(Contact) == 4  # nobody is created before the confirmation
    pending = session.scalars(select(PendingSubscription)).one()
    deliver(runner)
    (mail,) = outbox.to("ny.person@example.org")
    assert mail["Subject"] == "Bekräfta din prenumeration"
    confirm = link(mail, "/subscribe/confirm/")
    assert confirm.rsplit("/", 1)[1] not in pending.token_hash  # only the hash is stored

    # Nothing else reaches the address before it is confirmed.
    notice = make_notice(session, service_ids=[plan.journalen.id])
    assert "ny.person@example.org" not in {p.email for p in notice_services.recipients(session, notice)}

    # The link in the mail only shows a button (scanners follow links); POST confirms.
    assert "Bekräfta och visa mina val" in client.get(confirm).get_data(as_text=True)
    assert _count(Contact) == 4
    response = client.post(confirm)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/preferences/")
    contact = session.scalars(select(Contact).where(Contact.email == "ny.person@example.org")).one()
    assert contact.unit_id is None and contact.name == "Ny Person"
    profile = session.scalars(select(SubscriberProfile)).one()
    assert profile.self_subscribed and profile.organisation == "Vårdcentralen Luthagen"
    kinds = {(s.service_id, s.notice_kind) for s in session.scalars(select(Subscription))}
    assert kinds == {(plan.journalen.id, NoticeKind.outage), (plan.journalen.id, NoticeKind.release)}

    people = {p.email: p for p in notice_services.recipients(session, notice)}
    assert people["ny.person@example.org"].included
    # Confirming twice is harmless.
    assert client.post(confirm).status_code == 302
    assert _count(Contact) == 5


def test_known_address_gets_the_same_page_and_at_most_a_preferences_mail(client, session, runner, outbox):
    plan = small_plan(session)
    session.commit()
    unknown = client.post("/subscribe", data=_form(email="someone.new@example.org"))
    known = client.post("/subscribe", data=_form(email="Strateg@example.org"))
    assert unknown.status_code == known.status_code == 200
    page = known.get_data(as_text=True).replace("Strateg@example.org", "someone.new@example.org")
    assert page == unknown.get_data(as_text=True)
    deliver(runner)
    (mail,) = outbox.to("strateg@example.org")
    assert mail["Subject"] == "Du finns redan i vårt utskick"
    assert link(mail, "/preferences/")
    assert "/subscribe/confirm/" not in mail.get_body(("plain",)).get_content()
    assert _count(Contact) == 4 and session.get(Contact, plan.strategist.id).name == "Strateg"


def test_per_address_limit_holds_in_the_database(client, session, runner, outbox, app):
    app.config["SUBSCRIBE_MAILS_PER_ADDRESS"] = 2
    for _ in range(4):
        assert client.post("/subscribe", data=_form()).status_code == 200
    deliver(runner)
    assert len(outbox.to("ny.person@example.org")) == 2
    # A second process (another client, other IP) is held by the same rows.
    other = app.test_client()
    assert other.post("/subscribe", data=_form(), environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 200
    deliver(runner)
    assert len(outbox.to("ny.person@example.org")) == 2


def test_per_client_limit(client, app):
    app.config["SUBSCRIBE_RATE_LIMIT"] = "3 per hour"
    for i in range(3):
        assert client.post("/subscribe", data=_form(email=f"a{i}@example.org")).status_code == 200
    response = client.post("/subscribe", data=_form(email="a9@example.org"))
    assert response.status_code == 429
    assert "För många anmälningar" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(PendingSubscription)) == 3


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"email": "inte-en-adress"}, "Ange en giltig e-postadress."),
        ({"kinds": []}, "Välj minst en typ av meddelande."),
        ({"name": ""}, "Ange ditt namn."),
        ({"frequency": "hourly"}, "Not a valid choice"),
    ],
)
def test_bad_input_is_refused_and_nothing_stored(client, overrides, message):
    response = client.post("/subscribe", data=_form(**overrides))
    assert response.status_code == 400
    assert _count(PendingSubscription) == 0
    if "valid choice" not in message:
        assert message in response.get_data(as_text=True)


def test_expired_and_tampered_confirmation_links(client, session, runner, outbox):
    client.post("/subscribe", data=_form())
    deliver(runner)
    confirm = link(outbox.to("ny.person@example.org")[0], "/subscribe/confirm/")
    assert client.get(confirm[:-3] + "xyz").status_code == 404
    assert client.post("/subscribe/confirm/nonsense").status_code == 404
    pending = session.scalars(select(PendingSubscription)).one()
    pending.expires_at = utcnow() - timedelta(minutes=1)
    session.commit()
    response = client.post(confirm)
    assert response.status_code == 410
    assert "Länken har gått ut" in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Contact)) == 0


def test_confirmation_mail_in_the_chosen_language(client, runner, outbox):
    client.post("/subscribe", data=_form(language="en"))
    deliver(runner)
    (mail,) = outbox.to("ny.person@example.org")
    assert mail["Subject"] == "Confirm your subscription"


def test_coordinators_see_and_filter_self_subscribed(client, auth, session):
    plan = small_plan(session)
    contact = factories.make_contact(session, name="Egen Anmälan", email="egen@example.org")
    services.profile_for(session, contact).self_subscribed = True
    session.commit()
    auth.login("viewer")
    page = client.get("/plan/contacts?origin=self").get_data(as_text=True)
    assert "Egen Anmälan" in page and plan.strategist.name not in page
    detail = client.get(f"/plan/contacts/{contact.id}").get_data(as_text=True)
    assert "Självregistrerad" in detail


def test_frequency_is_stored(client, session, runner, outbox):
    client.post("/subscribe", data=_form(frequency="weekly"))
    deliver(runner)
    client.post(link(outbox.to("ny.person@example.org")[0], "/subscribe/confirm/"))
    assert {s.frequency for s in session.scalars(select(Subscription))} == {Frequency.weekly}


def test_unconfirmed_sign_ups_are_deleted_when_their_link_expires(client, session, app):
    client.post("/subscribe", data=_form())
    client.post("/subscribe", data=_form(email="other@example.org"))
    pending = session.scalars(select(PendingSubscription).order_by(PendingSubscription.id)).all()
    pending[0].expires_at = utcnow() - timedelta(minutes=1)
    session.commit()
    run_periodic(app, session)
    assert [p.email for p in session.scalars(select(PendingSubscription))] == ["other@example.org"]


def test_english_page_offers_english_mail(client):
    client.post("/language/en", data={"next": "/"})
    page = client.get("/subscribe").get_data(as_text=True)
    assert "How we handle your details" in page
    assert '<input checked id="language-1" name="language" required type="radio" value="en">' in page


@pytest.mark.skipif(not POSTGRES_URL, reason="concurrent requests need PostgreSQL")
def test_confirming_twice_at_once_creates_one_contact(app, client, session, runner, outbox):
    client.post("/subscribe", data=_form())
    deliver(runner)
    confirm = link(outbox.to("ny.person@example.org")[0], "/subscribe/confirm/")
    codes: list[int] = []
    barrier = threading.Barrier(3)

    def post() -> None:
        with app.app_context():
            barrier.wait()
            codes.append(app.test_client().post(confirm).status_code)
            db.session.remove()

    threads = [threading.Thread(target=post) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [302, 302, 302]
    session.expire_all()
    assert _count(Contact) == 1
