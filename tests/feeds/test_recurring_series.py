"""A rule series is ONE recurring event (RRULE, EXDATE, RECURRENCE-ID) in feeds and iMIP,
and expanding it back with recurring-ical-events gives exactly the occurrences stored."""

from __future__ import annotations

import email.utils
import json
import shutil
import subprocess
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
from flask import Flask

from commsplan.delivery.worker import Deliverer
from commsplan.extensions import db
from commsplan.feeds import invitations, services
from commsplan.meetings import services as meetings
from commsplan.meetings.models import MeetingSeries
from tests import factories
from tests.swedish import moment as swedish_moment


@pytest.fixture
def drain(app: Flask):  # type: ignore[no-untyped-def]
    def drain() -> None:
        result = Deliverer.from_app(app, connections=1).drain()
        db.session.expire_all()
        assert not result.errors, result.errors

    return drain


def _series(session, **extra) -> MeetingSeries:  # type: ignore[no-untyped-def]
    values = {
        "title": "Samverkan vårdande förvaltningar",
        "start_time": time(13, 0),
        "starts_on": date.today() - timedelta(days=1),
        "duration_minutes": 90,
        # Monthly, second Wednesday: Christmas, Epiphany and July bring skipped dates.
        "rrule": "FREQ=MONTHLY;BYDAY=2WE",
        "july_break": True,
        "location": "Akademiska sjukhuset",
        "online_url": "https://meet.example.org/samverkan",
        "organiser_email": "invanartjanster@example.org",
    }
    values.update(extra)
    return meetings.create_series(session, meetings.SeriesData(**values))


def _expanded(body: bytes, start: datetime, end: datetime) -> list[tuple[datetime, datetime, str]]:
    calendar = icalendar.Calendar.from_ical(body)
    return sorted(
        (event.start.astimezone(UTC), event.end.astimezone(UTC), str(event.get("LOCATION", "")))
        for event in recurring_ical_events.of(calendar).between(start, end)
        if event.name == "VEVENT"
    )


JS = Path(__file__).parent.parent / "js"


def _icaljs(body: bytes, start: datetime, end: datetime) -> list[tuple[datetime, datetime, str]]:
    """The same expansion by ICAL.js, Thunderbird's parser (tests/js, ``make test`` installs it)."""
    node = shutil.which("node")
    if node is None or not (JS / "node_modules" / "ical.js").is_dir():
        pytest.skip("ICAL.js needs node and `npm ci --prefix tests/js` (make test runs it)")
    done = subprocess.run(
        [node, str(JS / "expand.js"), start.isoformat(), end.isoformat()],
        input=body,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return sorted(
        (
            datetime.fromisoformat(item["start"]).astimezone(UTC),
            datetime.fromisoformat(item["end"]).astimezone(UTC),
            item["location"],
        )
        for item in json.loads(done.stdout)
    )


def _stored(series: MeetingSeries, start: datetime, end: datetime) -> list[tuple[datetime, datetime, str]]:
    return sorted(
        (occ.start, occ.end, occ.effective_location)
        for occ in series.occurrences
        if not occ.is_cancelled and start <= occ.start < end
    )


def _move_one_and_cancel_one(session, series):  # type: ignore[no-untyped-def]
    upcoming = [occ for occ in meetings.upcoming(series) if not occ.is_cancelled]
    moved, cancelled = upcoming[1], upcoming[3]
    start = moved.start + timedelta(days=1, hours=1)
    meetings.move_occurrence(session, moved, start, start + timedelta(hours=2), location="Rum 4")
    meetings.cancel_occurrence(session, cancelled)
    return moved, cancelled


def test_the_series_feed_is_one_recurring_event_that_expands_to_the_stored_occurrences(session):
    series = _series(session)
    moved, cancelled = _move_one_and_cancel_one(session, series)
    session.commit()

    body = services.build_series_feed(session, series)
    calendar = icalendar.Calendar.from_ical(body)
    events = calendar.walk("VEVENT")
    assert {str(event["UID"]) for event in events} == {series.uid}
    [master] = [event for event in events if "RECURRENCE-ID" not in event]
    assert master["RRULE"].to_ical() == b"FREQ=MONTHLY;BYDAY=2WE"
    lines = master.get("EXDATE", [])
    lines = lines if isinstance(lines, list) else [lines]
    exdates = {value.dt.astimezone(UTC) for line in lines for value in line.dts}
    assert cancelled.original_start in exdates
    skipped_july = [
        day
        for day, why in meetings.skipped_dates(series, date.today(), date.today() + timedelta(days=400))
        if why == "sommaruppehåll"
    ]
    assert skipped_july  # a July date is left out, and so in EXDATE
    overrides = [event for event in events if "RECURRENCE-ID" in event]
    assert moved.original_start in {event["RECURRENCE-ID"].dt.astimezone(UTC) for event in overrides}

    start = datetime.now(UTC) - timedelta(days=1)
    end = datetime.combine(series.materialised_until, time(), tzinfo=UTC)
    assert _expanded(body, start, end) == _stored(series, start, end)
    assert (moved.start, moved.end, "Rum 4") in _expanded(body, start, end)
    assert not [item for item in _expanded(body, start, end) if item[0] == cancelled.start]


def test_ical_js_expands_the_feed_and_the_invitation_to_the_stored_occurrences(session, outbox, drain):
    anna = factories.make_contact(session, name="Anna Andersson", email="anna@example.org")
    series = _series(session, contacts=[anna])
    _move_one_and_cancel_one(session, series)
    invitations.send_invitations(session, series)
    session.commit()
    drain()
    start = datetime.now(UTC) - timedelta(days=1)
    end = datetime.combine(series.materialised_until, time(), tzinfo=UTC)
    stored = _stored(series, start, end)
    assert len(stored) > 15
    assert _icaljs(services.build_series_feed(session, series), start, end) == stored
    [invite] = outbox.to("anna@example.org")
    assert _icaljs(_ics(invite), start, end) == stored


def test_one_invitation_per_person_and_a_change_goes_only_to_whose_calendar_changes(session, outbox, drain):
    anna = factories.make_contact(session, name="Anna Andersson", email="anna@example.org")
    bertil = factories.make_contact(session, name="Bertil Berg", email="bertil@example.org")
    series = _series(session, contacts=[anna, bertil])
    session.commit()

    assert invitations.plan_invitations(session, series).mails == 2
    assert invitations.send_invitations(session, series) == 2
    session.commit()
    drain()
    assert len(outbox.messages) == 2
    [invite] = outbox.to("anna@example.org")
    body = _ics(invite)
    start = datetime.now(UTC) - timedelta(days=1)
    end = datetime.combine(series.materialised_until, time(), tzinfo=UTC)
    assert _expanded(body, start, end) == _stored(series, start, end)
    assert icalendar.Calendar.from_ical(body)["METHOD"] == "REQUEST"

    # Adding a participant: one mail, to the new one only.
    outbox.clear()
    carl = factories.make_contact(session, name="Carl", email="carl@example.org")
    meetings.update_series(session, series, _data(series, contacts=[anna, bertil, carl]))
    assert invitations.send_series_updates(session, series) == 0  # an edit invites nobody new
    assert invitations.send_invitations(session, series) == 1
    session.commit()
    drain()
    assert [m["To"] for m in outbox.messages] == ["Carl <carl@example.org>"]

    # Removing one: a CANCEL of the series to that person, nothing to the others.
    outbox.clear()
    meetings.update_series(session, series, _data(series, contacts=[anna, carl]))
    assert invitations.send_series_updates(session, series) == 1
    session.commit()
    drain()
    [cancel] = outbox.messages
    assert "bertil@example.org" in cancel["To"]
    calendar = icalendar.Calendar.from_ical(_ics(cancel))
    assert calendar["METHOD"] == "CANCEL"
    [event] = calendar.walk("VEVENT")
    assert str(event["UID"]) == series.uid and "RECURRENCE-ID" not in event

    # Moving one date: one REQUEST of that instance to each invitee, nothing else.
    outbox.clear()
    moved, cancelled = _move_one_and_cancel_one(session, series)
    assert invitations.send_updates(session, [moved, cancelled]) == 4  # a REQUEST and a CANCEL each
    session.commit()
    drain()
    for address in ("anna@example.org", "carl@example.org"):
        methods = {}
        for mail in outbox.to(address):
            calendar = icalendar.Calendar.from_ical(_ics(mail))
            [event] = calendar.walk("VEVENT")
            assert str(event["UID"]) == series.uid
            methods[str(calendar["METHOD"])] = event["RECURRENCE-ID"].dt.astimezone(UTC)
        assert methods == {"REQUEST": moved.original_start, "CANCEL": cancelled.original_start}
    assert outbox.to("bertil@example.org") == []
    assert invitations.send_series_updates(session, series) == 0  # nothing more to say


def _data(series: MeetingSeries, **changes):  # type: ignore[no-untyped-def]
    values = {
        name: getattr(series, name)
        for name in meetings.SHOWN_FIELDS + meetings.CADENCE_FIELDS + meetings.OTHER_FIELDS
    }
    values.update(contacts=list(series.contacts), units=list(series.units), groups=list(series.groups))
    values.update(changes)
    return meetings.SeriesData(**values)


def _ics(message: EmailMessage) -> bytes:
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            return part.get_content().encode()
    raise AssertionError("no text/calendar part")


def test_the_organiser_is_the_functional_mailbox_sent_by_the_from_address(session, outbox, drain):
    anna = factories.make_contact(session, name="Anna Andersson", email="anna@example.org")
    series = _series(session, contacts=[anna], organiser_name="Invånartjänster e-hälsa")
    moved, _cancelled = _move_one_and_cancel_one(session, series)
    invitations.send_invitations(session, series)
    session.commit()
    drain()
    [invite] = outbox.to("anna@example.org")
    sender = email.utils.parseaddr(str(invite["From"]))[1]
    calendar = icalendar.Calendar.from_ical(_ics(invite))
    for event in calendar.walk("VEVENT"):  # the master and the moved date's override
        organiser = event["ORGANIZER"]
        assert str(organiser) == "mailto:invanartjanster@example.org"
        assert organiser.params["CN"] == "Invånartjänster e-hälsa"
        # The app sends in the mailbox's name: SENT-BY is the mail's From (RFC 5545 §3.2.18).
        assert organiser.params["SENT-BY"] == f"mailto:{sender}"
    assert len(calendar.walk("VEVENT")) == 2


def _moment(value: datetime, language: str) -> str:
    """A date and start as a reader writes it, spelt out here, not by the code under test."""
    local = value.astimezone(ZoneInfo("Europe/Stockholm"))
    if language == "sv":
        return swedish_moment(value)
    return f"{local.day} {local:%B} at {local:%H:%M}"


def test_a_moved_date_says_from_what_to_what_in_each_readers_language(session, outbox, drain):
    anna = factories.make_contact(session, name="Anna Andersson", email="anna@example.org")
    emma = factories.make_contact(session, name="Emma", email="emma@example.org", language="en")
    series = _series(session, contacts=[anna, emma])
    session.commit()
    invitations.send_invitations(session, series)
    session.commit()
    drain()

    outbox.clear()
    moved = [occ for occ in meetings.upcoming(series) if not occ.is_cancelled][1]
    before = moved.start
    after = before + timedelta(days=1, hours=1)
    meetings.move_occurrence(session, moved, after, after + timedelta(hours=2))
    invitations.send_updates(session, [moved])
    session.commit()
    drain()
    [swedish] = outbox.to("anna@example.org")
    sentence = f"Mötet {_moment(before, 'sv')} är flyttat till {_moment(after, 'sv')}."
    assert sentence in swedish.get_body(("plain",)).get_content()
    assert sentence in swedish.get_body(("html",)).get_content()
    [english] = outbox.to("emma@example.org")
    sentence = f"The meeting on {_moment(before, 'en')} has been moved to {_moment(after, 'en')}."
    assert sentence in english.get_body(("plain",)).get_content()

    # Moved again: "from" is where the reader's calendar has it now, not the rule's time.
    outbox.clear()
    later = after + timedelta(hours=2)
    meetings.move_occurrence(session, moved, later, later + timedelta(hours=2))
    invitations.send_updates(session, [moved])
    session.commit()
    drain()
    [swedish] = outbox.to("anna@example.org")
    sentence = f"Mötet {_moment(after, 'sv')} är flyttat till {_moment(later, 'sv')}."
    assert sentence in swedish.get_body(("plain",)).get_content()
