"""The demo meetings: the plan's cadences and the information meeting, loaded twice."""

from __future__ import annotations

from datetime import date, time
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from commsplan.meetings import services
from commsplan.meetings.demo import load_meetings_demo
from commsplan.meetings.models import AgendaItem, MeetingKind, MeetingSeries, Occurrence
from commsplan.timeutil import utcnow
from tests import factories

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def _counts(session):
    return tuple(
        session.scalar(select(func.count()).select_from(model))
        for model in (MeetingSeries, Occurrence, AgendaItem)
    )


def test_demo_loads_three_series_and_is_idempotent(session):
    unit = factories.make_unit(session, name="Akademiska sjukhuset")
    contact = factories.make_contact(session, name="Samordnare", unit=unit)
    today = date.today()
    first = load_meetings_demo(session, today)
    session.commit()
    assert first.created_series == 3
    counts = _counts(session)

    again = load_meetings_demo(session, today)
    session.commit()
    assert again.created_series == 0
    assert _counts(session) == counts

    by_kind = {s.kind: s for s in session.scalars(select(MeetingSeries))}
    network = by_kind[MeetingKind.network]
    collaboration = by_kind[MeetingKind.collaboration]
    information = by_kind[MeetingKind.information]

    # The network: four times a year.
    this_year = [o for o in network.occurrences if o.start.astimezone(STOCKHOLM).year == today.year]
    assert len(this_year) == 4
    # The collaboration: monthly on the 2nd Tuesday, with the care administrations.
    for occ in collaboration.occurrences:
        local = occ.start.astimezone(STOCKHOLM)
        assert local.weekday() == 1 and 8 <= local.day <= 14 and local.time() == time(9, 0)
        assert local.month != 7
    assert contact in services.participants_of(session, collaboration)

    # The information meeting: the 2024 dates as history and upcoming ones with an agenda.
    dates = {o.start.astimezone(STOCKHOLM).date() for o in information.occurrences}
    assert date(2024, 3, 6) in dates and date(2024, 12, 11) in dates
    upcoming = services.upcoming(information)
    assert len(upcoming) >= 4
    assert upcoming[0].start > utcnow()
    agenda = services.agenda_with_times(upcoming[0])
    assert len(agenda) == 8
    assert [i.title for i, _ in agenda if i.is_break] == ["Paus"]
    assert "Skriv i chatten" in upcoming[0].practical_notes
    assert all("," in i.presenter or i.presenter in ("", "Alla") for i, _ in agenda)  # roles, not names
    assert services.registration_is_open(upcoming[0])
