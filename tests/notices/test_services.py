from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from commsplan.delivery.models import OutboxItem, OutgoingMessage
from commsplan.extensions import db
from commsplan.notices import services
from commsplan.notices.models import (
    Notice,
    NoticeKind,
    NoticeStatus,
    NoticeUpdate,
    OutageState,
    UpdateKind,
)
from commsplan.subscriptions import services as subscription_services
from commsplan.timeutil import utcnow
from tests import factories
from tests.notices.helpers import make_notice, notice_data, prepared_notice, small_plan


def _addresses(session) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(session.scalars(select(OutboxItem.to_address)))


def _count(session, model) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(model))


def test_recipients_come_from_plan_with_reasons(session):
    plan = small_plan(session)
    group = factories.make_stakeholder_group(session, name="Vårdgivare – chefer")
    member = factories.make_contact(session, name="Chef", email="chef@example.org")
    member.groups.append(group)
    fan = factories.make_contact(session, name="Fan", email="fan@example.org")
    kind_fan = factories.make_contact(session, name="Alla störningar", email="storning@example.org")
    subscription_services.subscribe(session, fan, service=plan.journalen)
    subscription_services.subscribe(session, kind_fan, kind=NoticeKind.outage)
    factories.make_contact(session, name="Inaktiv", email="inaktiv@example.org", unit=plan.itc, active=False)
    notice = make_notice(
        session, service_ids=[plan.journalen.id], system_ids=[plan.epj.id], group_ids=[group.id]
    )

    people = {p.email: p for p in services.recipients(session, notice)}

    assert set(people) == {
        "drift@example.org",
        "epj@example.org",
        "strateg@example.org",
        "chef@example.org",
        "fan@example.org",
        "storning@example.org",
    }
    assert "ansvarstabellen" in people["drift@example.org"].reasons[0]
    assert "Journalen / T4" in people["drift@example.org"].reasons[0]
    assert people["epj@example.org"].reasons == ["Systemobjekt för EPJ: EPJ-objektet"]
    # The plan names the role that receives for the unit; the other person there is not asked.
    assert people["strateg@example.org"].reasons == [
        "Mottagare av information: Nära vård och hälsa – följer driftstörningar för alla e-tjänster"
    ]
    assert people["chef@example.org"].reasons == ["Intressentgrupp: Vårdgivare – chefer"]
    assert people["fan@example.org"].reasons == ["Prenumererar på Journalen"]
    assert people["storning@example.org"].reasons == ["Prenumererar på driftstörning"]


def test_person_on_the_list_for_two_reasons_appears_once(session):
    plan = small_plan(session)
    subscription_services.subscribe(session, plan.ops, service=plan.journalen)
    notice = make_notice(session, service_ids=[plan.journalen.id])
    people = [p for p in services.recipients(session, notice) if p.email == "drift@example.org"]
    assert len(people) == 1
    assert len(people[0].reasons) == 2


def test_coordinator_adds_and_removes_before_sending(session, app):
    plan = small_plan(session)
    notice = make_notice(session, service_ids=[plan.journalen.id])
    services.add_recipient(session, notice, "Extern@Example.org", "Extern person")
    services.remove_recipient(session, notice, "strateg@example.org")
    people = {p.email.lower(): p for p in services.recipients(session, notice)}
    assert people["extern@example.org"].reasons == ["Tillagd av samordnare"]
    assert people["strateg@example.org"].included is False
    assert people["strateg@example.org"].excluded_reason == "Borttagen av samordnare"

    count = services.publish(session, notice, None)
    session.commit()
    assert count == 2
    assert _addresses(session) == ["drift@example.org", "extern@example.org"]

    with pytest.raises(services.NoticeError):
        services.add_recipient(session, notice, "not-an-address")


def test_unsubscribed_address_is_left_out(session):
    plan = small_plan(session)
    subscription_services.unsubscribe(session, "DRIFT@example.org")
    notice = make_notice(session, service_ids=[plan.journalen.id])
    people = {p.email: p for p in services.recipients(session, notice)}
    assert people["drift@example.org"].included is False
    assert "avregistrerat" in people["drift@example.org"].excluded_reason


def test_lifecycle_draft_published_updated_closed(session):
    plan = small_plan(session)
    notice = make_notice(session, service_ids=[plan.journalen.id])
    assert notice.status is NoticeStatus.draft

    services.update_draft(
        session, notice, notice_data(title="Journalen är nere", service_ids=[plan.journalen.id])
    )
    assert notice.title == "Journalen är nere"

    count = services.publish(session, notice, None)
    session.commit()
    assert count == 2
    assert notice.status is NoticeStatus.published
    assert notice.outage_state is OutageState.investigating
    assert notice.starts_at is not None

    with pytest.raises(services.NoticeError):
        services.update_draft(session, notice, notice_data(title="Tyst ändring"))
    session.rollback()
    assert session.get(Notice, notice.id).title == "Journalen är nere"

    update = services.post_update(session, notice, None, "Orsaken är hittad.", OutageState.identified)
    session.commit()
    assert update.sent and update.recipient_count == 2
    assert notice.sequence == 1
    assert notice.outage_state is OutageState.identified

    services.close(session, notice, None, "Allt fungerar igen.")
    session.commit()
    assert notice.status is NoticeStatus.closed
    assert notice.outage_state is OutageState.resolved
    assert notice.ends_at is not None
    kinds = [u.kind for u in notice.updates]
    assert kinds == [UpdateKind.published, UpdateKind.update, UpdateKind.closed]
    # One message per mail, each to both recipients.
    assert _count(session, OutgoingMessage) == 3
    assert _count(session, OutboxItem) == 6

    with pytest.raises(services.NoticeError):
        services.post_update(session, notice, None, "efteråt")


def test_publish_requires_the_fields_of_its_kind(session):
    notice = make_notice(session, NoticeKind.release, version="")
    with pytest.raises(services.NoticeError) as raised:
        services.publish(session, notice, None)
    assert raised.value.field == "version"


def test_service_window_end_must_follow_start(session):
    start = utcnow() + timedelta(days=1)
    with pytest.raises(services.NoticeError) as raised:
        make_notice(session, NoticeKind.service_window, starts_at=start, ends_at=start - timedelta(hours=1))
    assert raised.value.field == "ends_at"


def test_publish_failing_midway_leaves_nothing(session, monkeypatch):
    plan = small_plan(session)
    notice = make_notice(session, service_ids=[plan.journalen.id], system_ids=[plan.epj.id])
    session.commit()
    real = subscription_services.preferences_links
    calls = []

    def flaky_links():  # type: ignore[no-untyped-def]
        link = real()

        def sign(contact_id: int) -> str:
            calls.append(contact_id)
            if len(calls) == 3:
                raise RuntimeError("disk full")
            return link(contact_id)

        return sign

    monkeypatch.setattr(subscription_services, "preferences_links", flaky_links)
    with pytest.raises(RuntimeError):
        services.publish(session, notice, None)
    session.rollback()

    assert len(calls) == 3
    assert session.get(Notice, notice.id).status is NoticeStatus.draft
    assert _count(session, OutboxItem) == 0
    assert _count(session, OutgoingMessage) == 0
    assert _count(session, NoticeUpdate) == 0


@pytest.mark.activity_gate
def test_cancel_sends_and_ends_notice(session):
    plan = small_plan(session)
    notice = prepared_notice(session, NoticeKind.service_window, service_ids=[plan.journalen.id])
    services.publish(session, notice, None)
    services.cancel(session, notice, None, "Uppgraderingen skjuts upp.")
    session.commit()
    assert notice.status is NoticeStatus.cancelled
    subjects = sorted(session.scalars(select(OutgoingMessage.subject)))
    assert "[Inställt] Planerat servicefönster: Uppgradering av Journalen" in subjects


def test_calendar_notices_lists_published_windows_and_releases(session):
    start = utcnow().replace(microsecond=0) + timedelta(days=5)
    window = make_notice(
        session, NoticeKind.service_window, starts_at=start, ends_at=start + timedelta(hours=1)
    )
    release = make_notice(session, NoticeKind.release, release_date=start.date())
    make_notice(
        session, NoticeKind.service_window, starts_at=start, ends_at=start + timedelta(hours=1)
    )  # draft
    services.publish(session, window, None)
    services.publish(session, release, None)
    session.commit()
    found = services.calendar_notices(session, start - timedelta(days=1), start + timedelta(days=1))
    assert {n.id for n in found} == {window.id, release.id}
    assert services.calendar_notices(session, start + timedelta(days=2), start + timedelta(days=3)) == []


def test_publishing_twice_at_once_sends_once(app, session):
    notice = make_notice(session)
    services.add_recipient(session, notice, "a@example.org")
    session.commit()
    # A second coordinator (or a double click) with the page still showing the draft.
    with Session(db.engine) as other:
        stale = other.get(Notice, notice.id)
        assert services.publish(session, notice, None) == 1
        session.commit()
        with pytest.raises(services.NoticeError):
            services.publish(other, stale, None)
        other.rollback()
    assert _count(session, OutboxItem) == 1
