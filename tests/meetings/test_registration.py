"""Public sign-up for information meetings, with the confirmation mail and its .ics."""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import vobject
from sqlalchemy import func, select

from commsplan.auth.models import Role
from commsplan.delivery.models import OutboxItem
from commsplan.delivery.services import drain
from commsplan.meetings import notify, services
from commsplan.meetings.models import Registration
from commsplan.meetings.services import SeriesData
from commsplan.timeutil import utcnow
from tests import factories, swedish

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def _series(session, **overrides):
    values = {
        "title": "Agenda 1177 – status och nyheter",
        "start_time": time(9, 0),
        "starts_on": date.today() - timedelta(days=70),
        "duration_minutes": 120,
        "rrule": "FREQ=MONTHLY;BYDAY=2TH",
        "registration_open": True,
        "online_url": "https://meet.example.org/agenda-1177",
        "organiser_name": "Invånartjänster e-hälsa",
        "organiser_email": "1177etjanster@example.org",
    }
    values.update(overrides)
    series = services.create_series(session, SeriesData(**values))
    session.commit()
    return series


def _count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def _sign_up(client, occ, email="anna.andersson@example.org", **extra):
    data = {"name": "Anna Andersson", "email": email, "organisation": "Region Uppsala"} | extra
    return client.post(f"/meetings/register/{occ.id}", data=data)


def test_public_sign_up_sends_confirmation_with_ics(app, client, session, outbox):
    series = _series(session)
    factories.make_contact(session, name="Anna Andersson", email="anna.andersson@example.org")
    session.commit()
    occ = services.upcoming(series)[0]
    services.replace_agenda(session, occ, [services.AgendaItemData("Inledning", "Moderator", 10)])
    session.commit()

    page = client.get(f"/meetings/register/{occ.id}")  # nobody is logged in
    assert page.status_code == 200
    assert "Anmäl mig" in page.get_data(as_text=True)

    response = _sign_up(client, occ)
    assert response.status_code == 200
    assert "Tack för din anmälan" in response.get_data(as_text=True)
    assert _count(session, Registration) == 1
    assert _count(session, OutboxItem) == 1

    result = drain(app, connections=1)
    assert result.sent == 1
    [mail] = outbox.to("anna.andersson@example.org")
    assert "Agenda 1177" in mail["Subject"]
    text = mail.get_body(("plain",)).get_content()
    assert "Inledning (Moderator)" in text and "https://meet.example.org/agenda-1177" in text
    [attachment] = [part for part in mail.iter_attachments() if part.get_filename() == "mote.ics"]
    assert attachment.get_content_type() == "text/calendar"
    calendar = vobject.readOne(attachment.get_content())
    event = calendar.vevent
    local_start = occ.start.astimezone(STOCKHOLM)
    assert event.dtstart.value.astimezone(STOCKHOLM) == local_start
    assert local_start.time() == time(9, 0)
    assert event.uid.value == occ.uid
    assert event.summary.value == series.title

    # The cancel link in the mail removes the sign-up after a confirmation.
    cancel_url = re.search(r"https?://\S+/meetings/registration/\S+", text).group(0)
    path = cancel_url.split("commsplan.example.org", 1)[1]
    assert "Ja, avanmäl mig" in client.get(path).get_data(as_text=True)
    assert client.post(path).status_code == 200
    assert _count(session, Registration) == 0
    assert client.get(path).status_code == 404


def test_duplicate_email_gets_the_same_answer_and_no_second_row(app, client, session, outbox):
    occ = services.upcoming(_series(session))[0]
    factories.make_contact(session, email="anna.andersson@example.org")
    session.commit()
    first = _sign_up(client, occ)
    assert first.status_code == 200
    again = _sign_up(client, occ, email="Anna.Andersson@Example.org", name="Anna A")
    assert again.status_code == 200
    assert again.get_data() == first.get_data()
    assert _count(session, Registration) == 1
    assert _count(session, OutboxItem) == 1
    drain(app, connections=1)
    assert len(outbox.messages) == 1


def test_sign_up_is_closed_for_cancelled_and_past_occurrences(client, session):
    series = _series(session)
    cancelled = services.upcoming(series)[0]
    services.cancel_occurrence(session, cancelled)
    past = [o for o in series.occurrences if o.end < utcnow()][0]
    session.commit()
    for occ in (cancelled, past):
        page = client.get(f"/meetings/register/{occ.id}").get_data(as_text=True)
        assert "Anmäl mig" not in page
        response = _sign_up(client, occ)
        assert response.status_code == 409
        assert "går inte att anmäla" in response.get_data(as_text=True) or "stängd" in response.get_data(
            as_text=True
        )
    assert _count(session, Registration) == 0


def test_no_public_form_for_series_without_registration(client, session):
    occ = services.upcoming(_series(session, registration_open=False))[0]
    assert client.get(f"/meetings/register/{occ.id}").status_code == 404


def test_invalid_sign_up_is_400(client, session):
    occ = services.upcoming(_series(session))[0]
    response = _sign_up(client, occ, email="not-an-address", name="")
    assert response.status_code == 400
    assert "Formuläret innehåller fel" in response.get_data(as_text=True)
    assert _count(session, Registration) == 0


def test_sign_up_needs_csrf_token(app, client, session):
    occ = services.upcoming(_series(session))[0]
    app.config["WTF_CSRF_ENABLED"] = True
    response = _sign_up(client, occ)
    assert response.status_code in (400, 409)
    assert _count(session, Registration) == 0
    page = client.get(f"/meetings/register/{occ.id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert _sign_up(client, occ, csrf_token=token).status_code == 200
    assert _count(session, Registration) == 1


def test_registrants_hear_when_their_meeting_moves_or_is_cancelled(app, client, auth, session, outbox):
    series = _series(session)
    first, second = services.upcoming(series)[:2]
    for occ, name, address in ((first, "Anna", "anna@example.org"), (second, "Bo", "bo@example.org")):
        factories.make_registration(session, occ, name, address)
    session.commit()
    auth.login()
    day = first.start.astimezone(STOCKHOLM).date() + timedelta(days=1)
    client.post(
        f"/meetings/occurrences/{first.id}/move",
        data={"day": day.isoformat(), "start_time": "13:00", "end_time": "15:00"},
    )
    client.post(f"/meetings/occurrences/{second.id}/cancel", data={"note": "Talaren är sjuk."})
    drain(app, connections=1)

    [moved] = outbox.to("anna@example.org")
    assert moved["Subject"].startswith("Ändrad tid")
    body = moved.get_body(("plain",)).get_content()
    assert "Hej!" in body and "Anna" not in body and "13.00" in body and "/meetings/registration/" in body
    event = vobject.readOne(next(moved.iter_attachments()).get_content()).vevent
    assert event.dtstart.value.astimezone(STOCKHOLM).hour == 13
    assert int(event.sequence.value) == 1 and event.uid.value == first.uid

    [cancelled] = outbox.to("bo@example.org")
    assert cancelled["Subject"].startswith("Inställt")
    assert "Talaren är sjuk." in cancelled.get_body(("plain",)).get_content()
    event = vobject.readOne(next(cancelled.iter_attachments()).get_content()).vevent
    assert event.status.value == "CANCELLED"


def test_series_change_mails_registrants_of_changed_occurrences_only(app, client, auth, session, outbox):
    series = _series(session, location="Rum 1")
    first = services.upcoming(series)[0]
    factories.make_registration(session, first, "Anna", "anna@example.org")
    session.commit()
    auth.login()
    form = {
        "title": series.title, "kind": "information", "cadence": "monthly", "ordinal": "2", "weekday": "TH",
        "week_interval": "1", "starts_on": series.starts_on.isoformat(), "start_time": "09:00",
        "duration_minutes": "120", "holiday_policy": "skip", "registration_open": "y",
        "online_url": series.online_url, "location": "Rum 1",
    }  # fmt: skip
    assert client.post(f"/meetings/{series.id}/edit", data=form).status_code == 302
    drain(app, connections=1)
    assert outbox.messages == []  # nothing a participant would notice
    assert (
        client.post(f"/meetings/{series.id}/edit", data=form | {"location": "Stora salen"}).status_code == 302
    )
    drain(app, connections=1)
    [mail] = outbox.to("anna@example.org")
    assert "Stora salen" in mail.get_body(("plain",)).get_content()


def _invitation(mail):
    """The iMIP part: method from the content type, and the parsed calendar."""
    [part] = [p for p in mail.iter_attachments() if p.get_filename() == "mote.ics"]
    return part.get_param("method"), vobject.readOne(part.get_content())


def test_registrants_calendars_follow_moves_and_cancellations(app, client, auth, session, outbox):
    occ = services.upcoming(_series(session))[0]
    services.update_occurrence_details(
        session,
        occ,
        practical_notes="- Ta med **dator**\n- Laddare",
        material_url="",
        minutes_url="",
        minutes_markdown="",
    )
    # Contacts of the plan are known addresses: their sign-up counts at once.
    factories.make_contact(session, name="Anna Andersson", email="anna.andersson@example.org")
    factories.make_contact(session, name="Bo", email="bo@example.org")
    session.commit()
    old_start = occ.start
    assert _sign_up(client, occ).status_code == 200
    assert _sign_up(client, occ, email="bo@example.org", name="Bo").status_code == 200
    drain(app, connections=1)
    confirmation = outbox.to("anna.andersson@example.org")[0]
    html = confirmation.get_body(("html",)).get_content()
    # The notice mails' layout, and the practical notes as a real list.
    assert "font-family: sans-serif" in html
    assert "<li>Ta med <strong>dator</strong></li>" in html and "<li>Laddare</li>" in html
    assert "**" not in confirmation.get_body(("plain",)).get_content()
    method, calendar = _invitation(confirmation)
    # An invitation, not a file that changes nothing unless opened.
    assert method == "REQUEST" and calendar.method.value == "REQUEST"
    assert [a.value for a in calendar.vevent.attendee_list] == ["mailto:anna.andersson@example.org"]
    assert calendar.vevent.organizer.value == "mailto:1177etjanster@example.org"
    first_sequence = int(calendar.vevent.sequence.value)

    outbox.clear()
    auth.login(Role.coordinator)
    day = occ.start.astimezone(STOCKHOLM).date() + timedelta(days=1)
    client.post(
        f"/meetings/occurrences/{occ.id}/move",
        data={"day": day.isoformat(), "start_time": "10:00", "end_time": "12:00"},
    )
    drain(app, connections=1)
    for address in ("anna.andersson@example.org", "bo@example.org"):
        [mail] = outbox.to(address)
        method, calendar = _invitation(mail)
        assert method == "REQUEST"
        assert [a.value for a in calendar.vevent.attendee_list] == [f"mailto:{address}"]
        assert calendar.vevent.uid.value == occ.uid
        assert int(calendar.vevent.sequence.value) > first_sequence
        assert calendar.vevent.dtstart.value.astimezone(STOCKHOLM).date() == day
        # The mail says which date moved from what to what.
        session.refresh(occ)
        new_start = f"{day.day} {swedish.MONTHS[day.month - 1]} kl. 10.00"
        moved = f"Mötet {swedish.moment(old_start)} är flyttat till {new_start}."
        assert moved in mail.get_body(("plain",)).get_content()
        assert moved in mail.get_body(("html",)).get_content()
        assert f"Tid: {notify.when(occ)}" in mail.get_body(("plain",)).get_content()
        assert "font-family: sans-serif" in mail.get_body(("html",)).get_content()

    outbox.clear()
    assert client.post(f"/meetings/occurrences/{occ.id}/cancel").status_code == 302
    drain(app, connections=1)
    method, calendar = _invitation(outbox.to("bo@example.org")[0])
    assert method == "CANCEL" and calendar.vevent.status.value == "CANCELLED"
    assert calendar.vevent.uid.value == occ.uid


def test_cancelling_a_sign_up_removes_the_meeting_from_the_calendar(app, client, session, outbox):
    occ = services.upcoming(_series(session))[0]
    factories.make_contact(session, name="Anna Andersson", email="anna.andersson@example.org")
    session.commit()
    assert _sign_up(client, occ).status_code == 200
    drain(app, connections=1)
    text = outbox.messages[0].get_body(("plain",)).get_content()
    path = re.search(r"https?://\S+/meetings/registration/\S+", text).group(0).split("example.org", 1)[1]
    _method, confirmation = _invitation(outbox.messages[0])
    outbox.clear()

    assert client.post(path).status_code == 200
    drain(app, connections=1)
    [mail] = outbox.to("anna.andersson@example.org")
    method, calendar = _invitation(mail)
    assert method == "CANCEL" and calendar.vevent.status.value == "CANCELLED"
    assert calendar.vevent.uid.value == confirmation.vevent.uid.value
    assert int(calendar.vevent.sequence.value) > int(confirmation.vevent.sequence.value)
    assert "avanmäld" in mail.get_body(("plain",)).get_content()
