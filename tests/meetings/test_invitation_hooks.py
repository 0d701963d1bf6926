"""Changes made on the meeting pages reach invited participants' calendars (iMIP)."""

from __future__ import annotations

from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import vobject

from commsplan.auth.models import Role
from commsplan.delivery.services import drain
from commsplan.feeds import invitations
from commsplan.meetings import services
from commsplan.meetings.services import SeriesData
from tests import factories

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def _calendar(message):
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            return vobject.readOne(part.get_content())
    raise AssertionError("no text/calendar part")


def _invited_series(app, session, outbox):
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
    return series


def test_cancelling_on_the_page_sends_cancel_to_the_invited(app, client, auth, session, outbox):
    series = _invited_series(app, session, outbox)
    occ = services.upcoming(series)[0]
    auth.login(Role.coordinator)
    assert client.post(f"/meetings/occurrences/{occ.id}/cancel").status_code == 302
    drain(app, connections=1)
    [mail] = outbox.to("medlem@example.org")
    calendar = _calendar(mail)
    assert calendar.method.value == "CANCEL"
    # One instance of the recurring event: the series' UID and the slot's RECURRENCE-ID.
    assert calendar.vevent.uid.value == series.uid
    assert calendar.vevent.recurrence_id.value == occ.original_start


def test_moving_on_the_page_sends_a_new_request(app, client, auth, session, outbox):
    series = _invited_series(app, session, outbox)
    occ = services.upcoming(series)[0]
    auth.login(Role.coordinator)
    day = occ.start.astimezone(STOCKHOLM).date() + timedelta(days=1)
    client.post(
        f"/meetings/occurrences/{occ.id}/move",
        data={"day": day.isoformat(), "start_time": "10:00", "end_time": "12:00"},
    )
    drain(app, connections=1)
    [mail] = outbox.to("medlem@example.org")
    event = _calendar(mail).vevent
    assert event.dtstart.value.astimezone(STOCKHOLM).date() == day
    assert event.uid.value == series.uid
    assert event.recurrence_id.value == occ.original_start
    assert int(event.sequence.value) >= 1


def test_deleting_the_series_cancels_invitations(app, client, auth, session, outbox):
    series = _invited_series(app, session, outbox)
    invited = len(services.upcoming(series))
    auth.login(Role.coordinator)
    assert client.post(f"/meetings/{series.id}/delete").status_code == 302
    drain(app, connections=1)
    [cancel] = outbox.to("medlem@example.org")
    calendar = _calendar(cancel)
    assert calendar.method.value == "CANCEL"
    assert calendar.vevent.uid.value == series.uid
    assert not hasattr(calendar.vevent, "recurrence_id")
    assert invited > 1  # one CANCEL for the whole series, not one per date
