"""iMIP invitations through the outbox, as they arrive at the SMTP server."""

from __future__ import annotations

from datetime import date, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
import vobject
from flask import Flask

from commsplan.auth.models import Role
from commsplan.delivery.worker import Deliverer
from commsplan.extensions import db
from commsplan.feeds import invitations
from commsplan.meetings import services as meetings
from commsplan.meetings.models import HolidayPolicy
from tests import factories
from tests.feeds.helpers import make_series, utc


@pytest.fixture
def drain(app: Flask):  # type: ignore[no-untyped-def]
    def drain() -> None:
        result = Deliverer.from_app(app, connections=1).drain()
        db.session.expire_all()
        assert not result.errors, result.errors

    return drain


def _calendar_part(message: EmailMessage) -> tuple[str, object]:
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            return part.get_param("method"), vobject.readOne(part.get_content())
    raise AssertionError("no text/calendar part")


def _setup(session):  # type: ignore[no-untyped-def]
    group = factories.make_stakeholder_group(session, name="E-tjänstesamordnare")
    anna = factories.make_contact(session, name="Anna Andersson", email="anna@example.org")
    bertil = factories.make_contact(session, name="Bertil Berg", email="bertil@example.org")
    bertil.groups.append(group)
    # Four meetings within the twelve months invitations reach.
    days = [date.today() + timedelta(days=30 * n) for n in range(1, 5)]
    series = make_series(
        session,
        contacts=[anna],
        groups=[group],
        starts_on=days[0],
        explicit_dates=[d.isoformat() for d in days],
        holiday_policy=HolidayPolicy.next_working_day,
    )
    session.commit()
    return series, anna, bertil


def test_each_participant_gets_a_request_per_upcoming_occurrence(client, auth, session, outbox, drain):
    series, anna, bertil = _setup(session)
    auth.login(Role.coordinator)

    confirm = client.get(f"/feeds/series/{series.id}/invite")
    assert confirm.status_code == 200
    assert "Skicka 8 inbjudningar" in confirm.get_data(as_text=True)
    response = client.post(f"/feeds/series/{series.id}/invite")
    assert response.status_code == 302
    drain()

    assert len(outbox.messages) == 8
    to_anna = outbox.to("anna@example.org")
    assert len(to_anna) == 4
    method, calendar = _calendar_part(to_anna[0])
    assert method == "REQUEST"
    assert calendar.method.value == "REQUEST"
    assert calendar.vtimezone.tzid.value == "Europe/Stockholm"
    event = calendar.vevent
    assert event.uid.value in {occ.uid for occ in series.occurrences}
    # Only the recipient is named as attendee: the others' addresses stay private.
    assert [a.value for a in event.attendee_list] == ["mailto:anna@example.org"]
    assert event.attendee.params["CN"] == ["Anna Andersson"]
    assert event.organizer.value == "mailto:invanartjanster@example.org"
    assert event.status.value == "CONFIRMED"
    assert to_anna[0]["Subject"].startswith("Inbjudan: Nätverket Invånartjänster")
    assert "Öppna bilagan" in to_anna[0].get_body(("plain",)).get_content()


def test_sending_again_only_invites_newcomers(session, outbox, drain):
    series, anna, bertil = _setup(session)
    assert invitations.send_invitations(session, series) == 8
    session.commit()
    carl = factories.make_contact(session, name="Carl", email="carl@example.org")
    series.contacts.append(carl)
    session.commit()

    assert invitations.send_invitations(session, series) == 4
    session.commit()
    drain()

    assert len(outbox.to("carl@example.org")) == 4
    assert len(outbox.to("anna@example.org")) == 4


def test_moving_sends_a_request_with_a_higher_sequence(session, outbox, drain):
    series, anna, bertil = _setup(session)
    invitations.send_invitations(session, series)
    session.commit()
    drain()
    occurrence = series.occurrences[1]
    first_sequence = occurrence.sequence
    first_start = occurrence.start
    outbox.clear()

    new_start = occurrence.start + timedelta(days=1)
    meetings.move_occurrence(session, occurrence, new_start, new_start + timedelta(hours=2))
    assert invitations.send_updates(session, [occurrence]) == 2
    session.commit()
    drain()

    assert len(outbox.messages) == 2
    method, calendar = _calendar_part(outbox.to("bertil@example.org")[0])
    assert method == "REQUEST"
    assert calendar.vevent.uid.value == occurrence.uid
    assert int(calendar.vevent.sequence.value) > first_sequence
    assert utc(calendar.vevent.dtstart.value) == new_start
    assert outbox.messages[0]["Subject"].startswith("Ändrat:")
    # The mail says where the meeting moved from and to (spelt out here, not by the code).
    months = "januari februari mars april maj juni juli augusti september oktober november december"
    old, new = (value.astimezone(ZoneInfo("Europe/Stockholm")) for value in (first_start, new_start))
    sentence = (
        f"Mötet {old.day} {months.split()[old.month - 1]} kl. {old:%H.%M} är flyttat till "
        f"{new.day} {months.split()[new.month - 1]} kl. {new:%H.%M}."
    )
    mail = outbox.to("bertil@example.org")[0]
    assert sentence in mail.get_body(("plain",)).get_content()
    assert sentence in mail.get_body(("html",)).get_content()
    # Nothing new to say: no more mail.
    assert invitations.send_updates(session, [occurrence]) == 0


def test_cancelling_an_occurrence_sends_cancel(session, outbox, drain):
    series, anna, bertil = _setup(session)
    invitations.send_invitations(session, series)
    session.commit()
    drain()
    outbox.clear()
    occurrence = series.occurrences[0]

    meetings.cancel_occurrence(session, occurrence, note="Inställt på grund av sjukdom.")
    invitations.send_updates(session, [occurrence])
    session.commit()
    drain()

    assert len(outbox.messages) == 2
    method, calendar = _calendar_part(outbox.to("anna@example.org")[0])
    assert method == "CANCEL"
    assert calendar.method.value == "CANCEL"
    assert calendar.vevent.uid.value == occurrence.uid
    assert calendar.vevent.status.value == "CANCELLED"
    assert int(calendar.vevent.sequence.value) == occurrence.sequence
    assert outbox.messages[0]["Subject"].startswith("Inställt:")
    # The cancelled occurrence is not offered again.
    assert invitations.send_invitations(session, series) == 0


def test_cancelling_the_series_cancels_every_invited_occurrence(session, outbox, drain):
    series, anna, bertil = _setup(session)
    invitations.send_invitations(session, series)
    session.commit()
    drain()
    outbox.clear()
    sequences = {occ.uid: occ.sequence for occ in series.occurrences}

    assert invitations.cancel_series(session, series) == 8
    session.commit()
    drain()

    assert len(outbox.messages) == 8
    for message in outbox.messages:
        method, calendar = _calendar_part(message)
        assert method == "CANCEL"
        assert int(calendar.vevent.sequence.value) > sequences[calendar.vevent.uid.value]


def test_updates_button_sends_changes_to_the_invited(client, auth, session, outbox, drain):
    series, anna, bertil = _setup(session)
    invitations.send_invitations(session, series)
    session.commit()
    drain()
    outbox.clear()
    meetings.cancel_occurrence(session, series.occurrences[3])
    session.commit()
    auth.login(Role.coordinator)

    response = client.post(f"/feeds/series/{series.id}/updates")

    assert response.status_code == 302
    drain()
    assert sorted(_calendar_part(m)[0] for m in outbox.messages) == ["CANCEL", "CANCEL"]


def test_a_series_without_participants_has_nothing_to_send(client, auth, session):
    series = make_series(session)
    session.commit()
    auth.login(Role.coordinator)

    page = client.get(f"/feeds/series/{series.id}/invite").get_data(as_text=True)

    assert "Serien har inga deltagare" in page
    assert client.post(f"/feeds/series/{series.id}/invite").status_code == 302


def test_viewers_cannot_send_invitations(client, auth, session):
    series, anna, bertil = _setup(session)
    auth.login(Role.viewer)
    assert client.get(f"/feeds/series/{series.id}/invite").status_code == 403
    assert client.post(f"/feeds/series/{series.id}/invite").status_code == 403


def test_only_the_coming_twelve_months_are_sent(session, outbox, drain):
    anna = factories.make_contact(session, name="Anna", email="anna@example.org")
    soon, late = date.today() + timedelta(days=120), date.today() + timedelta(days=500)
    series = make_series(
        session,
        contacts=[anna],
        starts_on=soon,
        explicit_dates=[soon.isoformat(), late.isoformat()],
        holiday_policy=HolidayPolicy.next_working_day,
    )
    session.commit()

    assert invitations.send_invitations(session, series) == 1
    session.commit()
    drain()

    _, calendar = _calendar_part(outbox.to("anna@example.org")[0])
    assert calendar.vevent.uid.value == series.occurrences[0].uid


def test_a_removed_participant_gets_cancel_and_a_re_added_one_a_new_request(session, outbox, drain):
    series, anna, bertil = _setup(session)
    invitations.send_invitations(session, series)
    session.commit()
    drain()
    outbox.clear()

    series.contacts.remove(anna)
    session.commit()
    assert invitations.send_series_updates(session, series) == 4
    session.commit()
    drain()

    assert len(outbox.messages) == 4
    assert {_calendar_part(m)[0] for m in outbox.to("anna@example.org")} == {"CANCEL"}
    cancelled_sequences = {
        _calendar_part(m)[1].vevent.uid.value: int(_calendar_part(m)[1].vevent.sequence.value)
        for m in outbox.messages
    }
    assert outbox.to("bertil@example.org") == []
    outbox.clear()

    series.contacts.append(anna)
    session.commit()
    assert invitations.send_series_updates(session, series) == 4
    session.commit()
    drain()

    for message in outbox.to("anna@example.org"):
        method, calendar = _calendar_part(message)
        assert method == "REQUEST"
        assert int(calendar.vevent.sequence.value) > cancelled_sequences[calendar.vevent.uid.value]
    assert len(outbox.messages) == 4


def test_a_reinstated_occurrence_is_requested_again(session, outbox, drain):
    series, anna, bertil = _setup(session)
    invitations.send_invitations(session, series)
    occurrence = series.occurrences[0]
    meetings.cancel_occurrence(session, occurrence)
    invitations.send_updates(session, [occurrence])
    session.commit()
    drain()
    outbox.clear()

    meetings.reinstate_occurrence(session, occurrence)
    assert invitations.send_updates(session, [occurrence]) == 2
    session.commit()
    drain()

    assert sorted(_calendar_part(m)[0] for m in outbox.messages) == ["REQUEST", "REQUEST"]


def test_invitation_is_inline_for_outlook_and_attached_for_others(session, outbox, drain):
    series, anna, bertil = _setup(session)
    invitations.send_invitations(session, series)
    session.commit()
    drain()
    message = outbox.to("anna@example.org")[0]
    assert message.get_content_type() == "multipart/mixed"
    alternative = next(
        part for part in message.iter_parts() if part.get_content_type() == "multipart/alternative"
    )
    inline = [part.get_content_type() for part in alternative.iter_parts()]
    assert inline == ["text/plain", "text/html", "text/calendar"]
    calendar_part = list(alternative.iter_parts())[2]
    assert calendar_part.get_param("method") == "REQUEST"
    assert vobject.readOne(calendar_part.get_content()).method.value == "REQUEST"
    attached = [part for part in message.iter_attachments() if part.get_content_type() == "text/calendar"]
    assert len(attached) == 1 and attached[0].get_filename()
