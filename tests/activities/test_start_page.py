"""The coordinator's start page lists what needs attention, each with a link to handle it."""

from __future__ import annotations

from datetime import time, timedelta

from sqlalchemy import select

from commsplan.activities import dashboard, services
from commsplan.auth.models import Role
from commsplan.delivery.models import DeliveryState, OutboxItem, OutgoingMessage
from commsplan.delivery.services import Addressee, enqueue
from commsplan.meetings.models import MeetingSeries, Occurrence, Registration
from commsplan.notices import services as notice_services
from commsplan.notices.models import NoticeKind, NoticeUpdate
from commsplan.timeutil import utcnow
from tests import factories
from tests.activities.helpers import complete_activity
from tests.notices.helpers import make_notice, small_plan


def _age_updates(session, notice, minutes: int) -> None:  # type: ignore[no-untyped-def]
    for update in session.scalars(select(NoticeUpdate).where(NoticeUpdate.notice_id == notice.id)):
        update.created_at = utcnow() - timedelta(minutes=minutes)
    session.flush()


def test_outage_nudge_after_the_interval(session, app):
    small_plan(session)
    outage = make_notice(session, NoticeKind.outage, title="Webbtidbok nere")
    notice_services.publish(session, outage, None)
    fresh = dashboard.attention(session, utcnow())
    assert [o.notice for o in fresh.outages] == [outage] and not fresh.outages[0].overdue
    _age_updates(session, outage, 31)
    late = dashboard.attention(session, utcnow())
    assert late.outages[0].overdue and late.outages[0].minutes_since >= 31
    assert dashboard.attention(session, utcnow(), update_interval_minutes=60).outages[0].overdue is False
    assert late.waiting_for_checklist == [outage]


def test_start_page_items_link_to_where_they_are_handled(client, auth, session):
    plan = small_plan(session)
    outage = make_notice(session, NoticeKind.outage, title="Webbtidbok nere")
    notice_services.publish(session, outage, None)
    _age_updates(session, outage, 45)
    window = make_notice(session, NoticeKind.service_window, title="Servicefönster Journalen")
    release = make_notice(session, NoticeKind.release, title="Release 3.0", service_ids=[plan.journalen.id])
    activity = complete_activity(session, window)
    activity.due_at = utcnow() + timedelta(minutes=5)
    series = MeetingSeries(
        title="Nätverket Invånartjänster", starts_on=utcnow().date(), start_time=time(13, 0)
    )
    session.add(series)
    session.flush()
    start = utcnow() + timedelta(days=2)
    occurrence = Occurrence(
        series=series, uid="m1", original_start=start, start=start, end=start + timedelta(hours=1)
    )
    session.add(occurrence)
    session.add(Registration(occurrence=occurrence, name="A", email="a@example.org"))
    message = OutgoingMessage(kind="notice", subject="Test", text_body="x")
    enqueue(session, message, [Addressee(email="fel@example.org")])
    item = session.scalars(select(OutboxItem).where(OutboxItem.to_address == "fel@example.org")).one()
    item.state = DeliveryState.failed
    item.last_error = "550 Mailbox unknown"
    session.commit()

    auth.login(Role.coordinator)
    html = client.get("/").get_data(as_text=True)
    assert "Webbtidbok nere" in html and "Dags att skicka en uppdatering" in html
    assert f"/notices/{outage.id}/update" in html
    assert f"/activities/new?notice={outage.id}" in html  # went out first, checklist still to do
    assert f"/activities/new?notice={release.id}" in html  # draft release without activity
    assert "Servicefönster Journalen" in html and f"/activities/{activity.id}" in html
    assert "Release 3.0" in html and "Ingen aktivitet" in html
    assert "fel@example.org" in html and "550 Mailbox unknown" in html
    assert f"/delivery/message/{message.id}" in html
    assert "Nätverket Invånartjänster" in html and "1 anmäld" in html
    assert services.due(activity) is not None


def test_empty_start_page_says_nothing_is_waiting(client, auth):
    auth.login(Role.viewer)
    html = client.get("/").get_data(as_text=True)
    assert "Inga pågående driftstörningar." in html and "Inga kommande möten." in html


def test_start_page_still_counts_the_plan(client, auth, session):
    factories.make_contact(session, email="en@example.org")
    session.commit()
    auth.login(Role.viewer)
    assert "<strong>1</strong> kontakt</a>" in client.get("/").get_data(as_text=True)
    factories.make_contact(session, email="tva@example.org")
    session.commit()
    client.post("/language/en", data={"next": "/"})
    assert "<strong>2</strong> contacts</a>" in client.get("/").get_data(as_text=True)
