"""Calendar text reads right: Markdown is rendered to plain text, and commas and
semicolons are escaped in every TEXT property, the calendar's own ones included."""

from __future__ import annotations

from datetime import date, time, timedelta

import icalendar

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
