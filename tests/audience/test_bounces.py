"""A permanent refusal (5xx) flags the address: listed, skipped, until fixed or cleared."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event, select

from commsplan.audience import services as audience
from commsplan.auth.models import Role
from commsplan.delivery.models import AddressBounce, DeliveryState, OutboxItem
from commsplan.extensions import db
from commsplan.kinds import NoticeKind
from commsplan.notices import services
from commsplan.timeutil import utcnow
from tests import factories
from tests.notices.helpers import make_notice


def _one_recipient(session):  # type: ignore[no-untyped-def]
    unit = factories.make_unit(session, name="Nära vård och hälsa")
    factories.follow(session, factories.make_recipient(session, unit=unit, role="E-hälsostrateg"))
    contact = factories.make_contact(
        session, name="Strateg", email="Strateg@example.org", unit=unit, role="E-hälsostrateg"
    )
    session.commit()
    return contact


def _publish_and_deliver(session, runner) -> None:  # type: ignore[no-untyped-def]
    services.publish(session, make_notice(session, NoticeKind.general), None)
    session.commit()
    assert runner.invoke(args=["commsplan", "deliver"]).exit_code == 0


def test_permanent_refusal_flags_the_address_until_cleared(session, runner, client, auth, outbox):
    contact = _one_recipient(session)
    outbox.scripted_replies.append("550 5.1.1 Mottagaren finns inte")
    _publish_and_deliver(session, runner)

    item = session.scalar(select(OutboxItem))
    assert item.state is DeliveryState.failed
    bounce = session.scalar(select(AddressBounce))
    assert (bounce.email, bounce.contact_id, bounce.outbox_item_id) == (
        "strateg@example.org",
        contact.id,
        item.id,
    )
    assert bounce.answer.startswith("550 5.1.1 Mottagaren finns inte")

    # The next notice leaves the address out, with the reason, on the list at publish.
    notice = make_notice(session, NoticeKind.general)
    person = services.recipients(session, notice)[0]
    assert person.included is False
    assert person.excluded_reason.startswith("Adressen gick inte att leverera till ")
    assert "550 5.1.1" in person.excluded_reason
    auth.login(Role.coordinator)
    listing = client.get(f"/notices/{notice.id}/recipients").get_data(as_text=True)
    assert "Nej: Adressen gick inte att leverera till" in listing

    assert "550 5.1.1 Mottagaren finns inte" in client.get("/audience/problems").get_data(as_text=True)
    contact_page = client.get(f"/plan/contacts/{contact.id}").get_data(as_text=True)
    assert "Adressen har problem" in contact_page

    # A coordinator clears the flag: the address gets mail again.
    response = client.post("/audience/problems/clear", data={"email": "strateg@example.org"})
    assert response.status_code == 302
    assert services.recipients(session, notice)[0].included
    assert "Inga adresser har problem." in client.get("/audience/problems").get_data(as_text=True)
    assert client.post("/audience/problems/clear", data={"email": "strateg@example.org"}).status_code == 404


def test_temporary_refusal_flags_nothing(session, runner, outbox):
    _one_recipient(session)
    outbox.scripted_replies.append("451 4.3.0 Försök igen senare")
    _publish_and_deliver(session, runner)
    assert session.scalar(select(OutboxItem)).state is DeliveryState.retrying
    assert session.scalar(select(AddressBounce)) is None


def test_fixing_the_address_on_the_contact_unflags_it(session, runner, outbox):
    contact = _one_recipient(session)
    outbox.scripted_replies.append("550 5.1.1 Mottagaren finns inte")
    _publish_and_deliver(session, runner)
    assert services.recipients(session, make_notice(session, NoticeKind.general))[0].included is False

    contact.email = "strateg.ny@example.org"
    session.commit()
    person = services.recipients(session, make_notice(session, NoticeKind.general))[0]
    assert (person.email, person.included) == ("strateg.ny@example.org", True)
    assert audience.address_problems(session) == ([], False)


@contextmanager
def _counting() -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_problem_list_is_paginated_with_a_fixed_number_of_queries(session, client, auth):
    auth.login(Role.viewer)
    now = utcnow()

    def add(n: int) -> None:
        for i in range(n):
            contact = factories.make_contact(session, email=f"b{i}-{n}@example.org")
            session.add(
                AddressBounce(
                    email=contact.email,
                    contact_id=contact.id,
                    answer="550 nej",
                    bounced_at=now - timedelta(minutes=i),
                )
            )
        session.commit()

    add(3)
    with _counting() as few:
        assert client.get("/audience/problems").status_code == 200
    add(60)
    with _counting() as many:
        page = client.get("/audience/problems").get_data(as_text=True)
    assert len(many) == len(few)
    assert page.count("550 nej") == audience.PROBLEMS_PER_PAGE
    assert 'rel="next"' in page
    second = client.get("/audience/problems?page=2").get_data(as_text=True)
    assert second.count("550 nej") == 63 - audience.PROBLEMS_PER_PAGE
    assert client.get("/audience/problems?page=abc").status_code == 200
