"""A delete on the plan pages that changes who is invited to meetings sends iMIP CANCEL
to those no longer invited, the same mails as removing them on the meeting page."""

from __future__ import annotations

from datetime import date, time, timedelta

import vobject
from sqlalchemy import select

from commsplan.auth.models import Role
from commsplan.delivery.services import drain
from commsplan.feeds import invitations
from commsplan.feeds.models import FeedKind, FeedToken, Invitation, SeriesInvitation
from commsplan.meetings import services
from commsplan.meetings.demo import load_meetings_demo
from commsplan.meetings.models import MeetingSeries
from commsplan.meetings.services import SeriesData
from commsplan.plan.demo import load_demo
from commsplan.plan.models import StakeholderGroup
from commsplan.timeutil import local, utcnow
from tests import factories

GROUP = "Förvaltningar/objekt inom Region Uppsala"


def _calendars(outbox, address):
    found = []
    for message in outbox.to(address):
        for part in message.walk():
            if part.get_content_type() == "text/calendar":
                found.append(vobject.readOne(part.get_content()))
    return found


def _held(session, series):
    """(address, event UID) of every future event a participant's calendar holds: the
    recurring event of a rule series, or each occurrence of a series of dates."""
    now = utcnow()
    whole = {
        (row.email, series.uid)
        for row in session.scalars(select(SeriesInvitation).where(SeriesInvitation.series_id == series.id))
        if not row.cancelled
    }
    return whole | {
        (inv.email, occ.uid)
        for occ in series.occurrences
        if occ.end >= now
        for inv in invitations.invitations_for(session, occ)
        if not inv.cancelled
    }


def test_deleting_the_network_group_cancels_the_five_invitations(app, client, auth, session, outbox):
    load_demo(session)
    session.flush()
    load_meetings_demo(session, local(utcnow()).date())
    session.commit()
    network = session.scalar(select(MeetingSeries).where(MeetingSeries.title == "Nätverket Invånartjänster"))
    people = {c.email for c in services.participants_of(session, network)}
    assert len(people) == 5
    invitations.send_invitations(session, network)
    session.commit()
    drain(app, connections=1)
    outbox.clear()
    held = _held(session, network)
    assert {email for email, _uid in held} == people

    group = session.scalar(select(StakeholderGroup).where(StakeholderGroup.name == GROUP))
    session.add(FeedToken(kind=FeedKind.contact, target_id=group.contacts[0].id))
    session.commit()
    auth.login(Role.coordinator)
    page = " ".join(client.get(f"/plan/stakeholders/{group.id}/delete").get_data(as_text=True).split())
    assert "Nätverket Invånartjänster</a>: 5 deltagare → 0 deltagare." in page
    assert f"{len(held)} avbokningar skickas till deras kalendrar." in page
    assert "1 personligt kalenderflöde slutar visa serien." in page
    assert outbox.messages == [] and _held(session, network) == held  # the page changed nothing

    assert client.post(f"/plan/stakeholders/{group.id}/delete").status_code == 302
    assert services.participants_of(session, network) == []
    drain(app, connections=1)
    cancelled = set()
    for email in people:
        for calendar in _calendars(outbox, email):
            assert calendar.method.value == "CANCEL"
            assert calendar.vevent.status.value == "CANCELLED"
            cancelled.add((email, calendar.vevent.uid.value))
    assert cancelled == held
    assert all(inv.cancelled for inv in session.scalars(select(Invitation)))
    assert all(row.cancelled for row in session.scalars(select(SeriesInvitation)))


def _directly_invited(app, session, outbox):
    contact = factories.make_contact(session, name="Nätverksmedlem", email="medlem@example.org")
    series = services.create_series(
        session,
        SeriesData(
            title="Nätverket Invånartjänster",
            start_time=time(13, 0),
            starts_on=date.today() - timedelta(days=1),
            duration_minutes=120,
            rrule="FREQ=MONTHLY;INTERVAL=3;BYDAY=2WE",
            organiser_email="1177etjanster@example.org",
            contacts=[contact],
        ),
    )
    invitations.send_invitations(session, series)
    session.commit()
    drain(app, connections=1)
    outbox.clear()
    return series, contact


def test_deleting_a_contact_sends_the_same_cancel_as_removing_them_from_the_series(
    app, client, auth, session, outbox
):
    series, contact = _directly_invited(app, session, outbox)
    auth.login(Role.coordinator)
    assert client.post(f"/plan/contacts/{contact.id}/delete").status_code == 302
    drain(app, connections=1)
    by_delete = sorted(m["Subject"] for m in outbox.to("medlem@example.org"))
    assert by_delete and all(cal.method.value == "CANCEL" for cal in _calendars(outbox, "medlem@example.org"))

    # The same person removed by hand on the meeting side gets the same mails.
    outbox.clear()
    by_hand_series, _contact = _directly_invited(app, session, outbox)
    by_hand_series.contacts = []
    invitations.send_series_updates(session, by_hand_series)
    session.commit()
    drain(app, connections=1)
    assert sorted(m["Subject"] for m in outbox.to("medlem@example.org")) == by_delete


def test_a_contact_leaving_the_invited_group_gets_a_cancel(app, client, auth, session, outbox):
    group = factories.make_stakeholder_group(session, name="Nätverket")
    contact = factories.make_contact(session, name="Olle", email="olle@example.org", groups=[group])
    series = services.create_series(
        session,
        SeriesData(
            title="Nätverksträff",
            start_time=time(13, 0),
            starts_on=date.today() - timedelta(days=1),
            duration_minutes=60,
            rrule="FREQ=MONTHLY;BYDAY=2WE",
            organiser_email="1177etjanster@example.org",
            groups=[group],
        ),
    )
    invitations.send_invitations(session, series)
    session.commit()
    drain(app, connections=1)
    outbox.clear()
    held = _held(session, series)
    assert held

    auth.login(Role.coordinator)
    response = client.post(
        f"/plan/contacts/{contact.id}/edit",
        data={"name": "Olle", "email": "olle@example.org", "language": "sv", "active": "y"},
    )
    assert response.status_code == 302
    drain(app, connections=1)
    calendars = _calendars(outbox, "olle@example.org")
    assert {("olle@example.org", cal.vevent.uid.value) for cal in calendars} == held
    assert all(cal.method.value == "CANCEL" for cal in calendars)
