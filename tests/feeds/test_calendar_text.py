"""Calendar text reads right: Markdown is rendered to plain text, and commas and
semicolons are escaped in every TEXT property, the calendar's own ones included."""

from __future__ import annotations

from datetime import date, time, timedelta

import icalendar

from commsplan.auth.models import Role
from commsplan.feeds import services
from commsplan.meetings import services as meetings


def test_descriptions_are_plain_text_and_calendar_names_are_escaped(session):
    series = meetings.create_series(
        session,
        meetings.SeriesData(
            title="Samverkan, vårdande förvaltningar; EPJ",
            start_time=time(13, 0),
            starts_on=date.today() - timedelta(days=1),
            rrule="FREQ=MONTHLY;BYDAY=2WE",
            description=(
                "Möte för **e-tjänstesamordnare**, se [planen](https://example.org/plan).\n\n- EPJ\n- T4"
            ),
        ),
    )
    occ = meetings.upcoming(series)[0]
    meetings.update_occurrence_details(
        session,
        occ,
        practical_notes="Ta med **dator**; kaffe finns.",
        material_url="",
        minutes_url="",
        minutes_markdown="",
    )
    session.commit()

    body = services.build_series_feed(session, series)
    raw = body.decode()
    unfolded = raw.replace("\r\n ", "")
    assert "X-WR-CALNAME:Samverkan\\, vårdande förvaltningar\\; EPJ\r\n" in unfolded
    assert "NAME:Samverkan\\, vårdande förvaltningar\\; EPJ\r\n" in unfolded
    assert "X-WR-CALDESC:Möte för e-tjänstesamordnare\\, se planen (https://example.org/plan)." in unfolded
    assert "**" not in raw and "<strong>" not in raw and "[planen]" not in raw

    calendar = icalendar.Calendar.from_ical(body)
    descriptions = [str(event["DESCRIPTION"]) for event in calendar.walk("VEVENT")]
    assert any("- EPJ\n- T4" in text for text in descriptions)
    assert any("Ta med dator; kaffe finns." in text for text in descriptions)


def test_a_series_reminder_is_a_valarm_and_none_by_default(client, auth, session):
    plain = meetings.create_series(
        session,
        meetings.SeriesData(
            title="Utan påminnelse",
            start_time=time(9, 0),
            starts_on=date.today(),
            rrule="FREQ=MONTHLY;BYDAY=1TU",
        ),
    )
    session.commit()
    assert "BEGIN:VALARM" not in services.build_series_feed(session, plain).decode()

    auth.login(Role.coordinator)
    page = client.get(f"/meetings/{plain.id}/edit").get_data(as_text=True)
    assert "Påminnelse i kalendern" in page
    form = {
        "title": "Med påminnelse",
        "kind": "network",
        "cadence": "monthly",
        "ordinal": "1",
        "weekday": "TU",
        "starts_on": date.today().isoformat(),
        "start_time": "09:00",
        "duration_minutes": "60",
        "holiday_policy": "skip",
        "reminder_minutes": "1440",
    }
    assert client.post(f"/meetings/{plain.id}/edit", data=form).status_code == 302
    session.expire_all()
    assert plain.reminder_minutes == 1440
    calendar = icalendar.Calendar.from_ical(services.build_series_feed(session, plain))
    [master] = [event for event in calendar.walk("VEVENT") if "RECURRENCE-ID" not in event]
    [alarm] = master.walk("VALARM")
    assert str(alarm["ACTION"]) == "DISPLAY"
    assert alarm["TRIGGER"].dt == timedelta(days=-1)

    bad = client.post(f"/meetings/{plain.id}/edit", data=form | {"reminder_minutes": "99999"})
    assert bad.status_code == 400
    session.expire_all()
    assert plain.reminder_minutes == 1440
    assert client.post(f"/meetings/{plain.id}/edit", data=form | {"reminder_minutes": "x"}).status_code == 400
