"""Text that would break a generated format: line breaks and control characters in
titles, descriptions and names reach feeds, sign-up pages and mail as text, never as a
500 or a broken line (issue 10, point 5). Every ICS text goes through ``ical.text``."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icalendar import Event

from commsplan.delivery.services import drain
from commsplan.feeds import ical
from commsplan.feeds.models import FeedKind
from commsplan.meetings import services as meetings
from commsplan.meetings.services import SeriesData
from commsplan.notices.markup import markdown_to_text
from tests import factories
from tests.feeds.helpers import parse, token_for

TITLE = "Agenda 1177\r\nstatus och nyheter"
DESCRIPTION = "Rad ett\nRad två\rRad tre\x0bRad fyra"
NAME = "Anna\nAndersson"


def _series(session, contact):
    series = meetings.create_series(
        session,
        SeriesData(
            title=TITLE,
            description=DESCRIPTION,
            start_time=time(9, 0),
            starts_on=date.today() - timedelta(days=40),
            rrule="FREQ=MONTHLY;BYDAY=2TH",
            registration_open=True,
            organiser_name="Invånar\ntjänster",
            organiser_email="org@example.org",
            contacts=[contact],
        ),
    )
    session.commit()
    return series


def test_line_breaks_in_series_and_contact_text_keep_feeds_and_sign_up_working(app, client, session, outbox):
    contact = factories.make_contact(session, name=NAME, email="anna@example.org")
    series = _series(session, contact)
    occ = meetings.upcoming(series)[0]

    assert client.get(f"/meetings/register/{occ.id}").status_code == 200
    assert client.get(f"/meetings/public/{occ.id}").status_code == 200
    for kind, target in ((FeedKind.series, series.id), (FeedKind.contact, contact.id), (FeedKind.region, 0)):
        token = token_for(session, kind, target) if kind is not FeedKind.region else token_for(session, kind)
        response = client.get(f"/feeds/{kind.value}/{token}.ics")
        assert response.status_code == 200, kind
        calendar = parse(response.data)  # vobject, not the library we write with
        event = calendar.vevent_list[0]
        assert event.summary.value == "Agenda 1177\nstatus och nyheter"
        assert "Rad ett\nRad två\nRad tre" in event.description.value
        for line in response.data.split(b"\r\n"):
            assert b"\n" not in line and b"\r" not in line
    series_feed = parse(
        client.get(f"/feeds/series/{token_for(session, FeedKind.series, series.id)}.ics").data
    )
    assert series_feed.contents["x-wr-caldesc"][0].value.startswith("Rad ett\nRad två")

    # A known contact signs up: the mail with the .ics is sent and parses.
    assert (
        client.post(
            f"/meetings/register/{occ.id}", data={"name": "A", "email": "anna@example.org"}
        ).status_code
        == 200
    )
    drain(app, connections=1)
    [mail] = outbox.to("anna@example.org")
    [attachment] = [p for p in mail.iter_attachments() if p.get_filename() == "mote.ics"]
    assert parse(attachment.get_content().encode()).vevent.organizer.params["CN"] == ["Invånar tjänster"]
    assert "\n" not in str(mail["Subject"])


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(st.text(max_size=200), st.text(max_size=60))
def test_any_text_makes_a_calendar_that_parses_back(value, name):
    calendar = ical.new_calendar(value or "x", description=value)
    event = Event()
    event.add("uid", "u@example.org")
    event.add("dtstamp", datetime(2030, 1, 1, tzinfo=UTC))
    event.add("summary", ical.text(value))
    event.add("organizer", ical.address(ical.Person("a@example.org", name)))
    calendar.add_component(event)
    raw = ical.to_bytes(calendar)
    assert all(b"\n" not in line and b"\r" not in line for line in raw.split(b"\r\n"))
    parsed = parse(raw)  # vobject
    expected = ical.clean(value)
    assert parsed.vevent.summary.value == expected
    if expected:
        assert parsed.contents["x-wr-calname"][0].value == expected
    # The calendar's description is Markdown, written as plain text.
    description = ical.clean(markdown_to_text(value))
    if description:
        assert parsed.contents["x-wr-caldesc"][0].value == description
    cn = ical.param(name)
    assert "\n" not in cn and '"' not in cn
    if cn:
        assert parsed.vevent.organizer.params["CN"] == [cn]
