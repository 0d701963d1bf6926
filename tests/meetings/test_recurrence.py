"""Cadence: rules, explicit dates, holidays, July break, overrides, DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from commsplan.meetings import services
from commsplan.meetings.models import HolidayPolicy, OccurrenceStatus
from commsplan.meetings.services import MeetingError, SeriesData

STOCKHOLM = ZoneInfo("Europe/Stockholm")
NOW = datetime(2024, 1, 1, 8, 0, tzinfo=UTC)


def _series(session, **overrides):
    values = {
        "title": "Samverkan vårdande förvaltningar",
        "start_time": time(10, 0),
        "starts_on": date(2024, 1, 1),
        "duration_minutes": 90,
        "rrule": "FREQ=MONTHLY;BYDAY=2TU",
    }
    values.update(overrides)
    series = services.create_series(session, SeriesData(**values), now=NOW)
    session.commit()
    return series


def _local_dates(series):
    return [occ.start.astimezone(STOCKHOLM).date() for occ in series.occurrences if not occ.superseded]


def test_monthly_second_tuesday_over_a_year(session):
    series = _series(session)
    dates = [d for d in _local_dates(series) if d.year == 2024]
    assert dates == [
        date(2024, 1, 9), date(2024, 2, 13), date(2024, 3, 12), date(2024, 4, 9),
        date(2024, 5, 14), date(2024, 6, 11), date(2024, 7, 9), date(2024, 8, 13),
        date(2024, 9, 10), date(2024, 10, 8), date(2024, 11, 12), date(2024, 12, 10),
    ]  # fmt: skip
    assert all(occ.start.astimezone(STOCKHOLM).time() == time(10, 0) for occ in series.occurrences)
    assert all((occ.end - occ.start).total_seconds() == 90 * 60 for occ in series.occurrences)


def test_occurrences_are_materialised_up_to_the_horizon(session):
    series = _series(session)
    last = series.occurrences[-1].start.astimezone(STOCKHOLM).date()
    assert date(2025, 12, 1) <= last <= date(2026, 1, 1)
    assert len(series.occurrences) == 24


def test_july_break_leaves_out_july(session):
    series = _series(session, july_break=True)
    dates = _local_dates(series)
    assert not [d for d in dates if d.month == 7]
    assert date(2024, 8, 13) in dates and date(2024, 6, 11) in dates


def test_holidays_skipped(session):
    # Thursdays in 2024: Ascension Day 9 May, Christmas Day 26 Dec is 2nd day (Thu).
    series = _series(session, rrule="FREQ=WEEKLY;BYDAY=TH", holiday_policy=HolidayPolicy.skip)
    dates = _local_dates(series)
    assert date(2024, 5, 9) not in dates  # Kristi himmelsfärdsdag
    assert date(2024, 12, 26) not in dates  # Annandag jul
    assert date(2024, 5, 16) in dates


def test_holidays_moved_to_next_working_day(session):
    # Fridays: Midsummer Eve 21 June 2024 is a de-facto holiday; Good Friday 29 March.
    series = _series(session, rrule="FREQ=WEEKLY;BYDAY=FR", holiday_policy=HolidayPolicy.next_working_day)
    by_original = {occ.original_start.astimezone(STOCKHOLM).date(): occ for occ in series.occurrences}
    midsummer = by_original[date(2024, 6, 21)]
    assert midsummer.start.astimezone(STOCKHOLM) == datetime(2024, 6, 24, 10, 0, tzinfo=STOCKHOLM)
    assert midsummer.holiday_name == "Midsommarafton"
    # Good Friday → Easter Monday is a holiday too → Tuesday 2 April.
    good_friday = by_original[date(2024, 3, 29)]
    assert good_friday.start.astimezone(STOCKHOLM).date() == date(2024, 4, 2)
    # Christmas: Wed 25 Dec 2024 in a Wednesday series moves past Thu 26 Dec to Friday 27.
    christmas = _series(
        session,
        title="Jul",
        rrule="FREQ=WEEKLY;BYDAY=WE",
        holiday_policy=HolidayPolicy.next_working_day,
    )
    by_original = {o.original_start.astimezone(STOCKHOLM).date(): o for o in christmas.occurrences}
    assert by_original[date(2024, 12, 25)].start.astimezone(STOCKHOLM).date() == date(2024, 12, 27)


def test_explicit_dates(session):
    dates = ["2024-03-06", "2024-04-10", "2024-05-23", "2024-09-05", "2024-10-10", "2024-11-06", "2024-12-11"]
    series = _series(session, rrule=None, explicit_dates=dates, title="Agenda 1177 – status och nyheter")
    assert [d.isoformat() for d in _local_dates(series)] == dates
    assert series.starts_on == date(2024, 1, 1)


def test_dst_local_time_is_kept_in_march_and_november(session):
    series = _series(session, rrule=None, explicit_dates=["2024-03-06", "2024-11-06", "2024-04-10"])
    starts = {occ.start.astimezone(STOCKHOLM).date(): occ.start for occ in series.occurrences}
    # Winter time (CET, UTC+1) in early March and November, summer time (CEST, UTC+2) in April.
    assert starts[date(2024, 3, 6)] == datetime(2024, 3, 6, 9, 0, tzinfo=UTC)
    assert starts[date(2024, 11, 6)] == datetime(2024, 11, 6, 9, 0, tzinfo=UTC)
    assert starts[date(2024, 4, 10)] == datetime(2024, 4, 10, 8, 0, tzinfo=UTC)
    session.expire_all()
    reloaded = {o.start.astimezone(STOCKHOLM).date(): o.start for o in series.occurrences}
    assert reloaded == starts


def test_moved_and_cancelled_occurrences_survive_regeneration(session):
    series = _series(session)
    by_date = {o.original_start.astimezone(STOCKHOLM).date(): o for o in series.occurrences}
    moved, cancelled, plain = (
        by_date[date(2024, 3, 12)],
        by_date[date(2024, 4, 9)],
        by_date[date(2024, 5, 14)],
    )
    services.move_occurrence(
        session,
        moved,
        datetime(2024, 3, 14, 13, 0, tzinfo=STOCKHOLM),
        datetime(2024, 3, 14, 14, 30, tzinfo=STOCKHOLM),
        location="Rum 4",
    )
    services.cancel_occurrence(session, cancelled, note="Krockar med utbildning")
    session.commit()
    assert (moved.sequence, cancelled.sequence, plain.sequence) == (1, 1, 0)

    # A series-wide change: new time and place. Every future occurrence shows it.
    data = SeriesData(
        title=series.title,
        start_time=time(9, 0),
        starts_on=series.starts_on,
        duration_minutes=90,
        rrule=series.rrule,
        location="Stora salen",
    )
    services.update_series(session, series, data, now=NOW)
    session.commit()
    session.expire_all()

    assert moved.start.astimezone(STOCKHOLM) == datetime(2024, 3, 14, 13, 0, tzinfo=STOCKHOLM)
    assert moved.effective_location == "Rum 4"
    assert cancelled.status is OccurrenceStatus.cancelled
    assert plain.start.astimezone(STOCKHOLM) == datetime(2024, 5, 14, 9, 0, tzinfo=STOCKHOLM)
    assert plain.effective_location == "Stora salen"
    assert moved.sequence >= 2 and cancelled.sequence >= 2 and plain.sequence >= 1
    ids_before = {o.id for o in series.occurrences}

    # The rule changes: 3rd Tuesday. Unmodified occurrences follow; the overrides stay.
    data.rrule = "FREQ=MONTHLY;BYDAY=3TU"
    services.update_series(session, series, data, now=NOW)
    session.commit()
    session.expire_all()
    assert moved.start.astimezone(STOCKHOLM).date() == date(2024, 3, 14)
    assert cancelled.status is OccurrenceStatus.cancelled and not cancelled.superseded
    # The old 2nd-Tuesday slot is kept cancelled so subscribed calendars drop it.
    assert plain.status is OccurrenceStatus.cancelled and plain.superseded
    active = [o for o in series.occurrences if o.status is OccurrenceStatus.scheduled]
    assert date(2024, 5, 21) in [o.start.astimezone(STOCKHOLM).date() for o in active]
    assert ids_before <= {o.id for o in series.occurrences}


def test_series_field_change_raises_sequence_of_future_occurrences_only(session):
    series = _series(session)
    later = datetime(2024, 6, 1, tzinfo=UTC)
    data = SeriesData(
        title="Nytt namn", start_time=time(10, 0), starts_on=series.starts_on, duration_minutes=90,
        rrule=series.rrule,
    )  # fmt: skip
    before = {o.id for o in series.occurrences}
    result = services.update_series(session, series, data, now=later)
    session.commit()
    assert result.created  # the horizon rolled forward with the new "now"
    past = [o for o in series.occurrences if o.start < later]
    future = [o for o in series.occurrences if o.start >= later and o.id in before]
    assert past and future
    assert all(o.sequence == 0 for o in past)
    assert all(o.sequence == 1 for o in future)
    assert series.sequence == 1


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=HOURLY",
        "FREQ=MONTHLY;BYDAY=2XX",
        "nonsense",
        "FREQ=DAILY;BYHOUR=10",
        "",
        "FREQ=DAILY;INTERVAL=0",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=MONTHLY;BYMONTHDAY=32",
        "FREQ=WEEKLY;BYDAY=TU;COUNT=2;UNTIL=20250101",
    ],
)
def test_invalid_rrules_are_refused(rule):
    with pytest.raises(MeetingError):
        services.normalise_rrule(rule)


def test_rrule_is_normalised():
    assert (
        services.normalise_rrule("rrule:freq=monthly;interval=3;byday=2tu")
        == "FREQ=MONTHLY;INTERVAL=3;BYDAY=2TU"
    )


def test_horizon_rolls_forward_once_a_day(app, session, runner):
    from commsplan.delivery.hooks import run_periodic

    series = _series(session)
    assert series.materialised_until == date(2026, 1, 1)
    later = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
    results = run_periodic(app, session, now=later)
    assert results["meetings-extend"] == 2  # January and February 2026
    assert series.materialised_until == date(2026, 3, 1)
    # The same hour's slot has run: the worker leaves the job alone; run again, it adds nothing.
    assert "meetings-extend" not in run_periodic(app, session, now=later)
    assert services.extend_due(session, later) == 0
    result = runner.invoke(args=["commsplan", "meetings-extend"])
    assert result.exit_code == 0 and "nya mötestillfällen" in result.output


def test_weekly_series_keeps_local_time_across_both_dst_switches(session):
    # Summer time starts 31 March 2024 and ends 27 October 2024.
    series = _series(session, rrule="FREQ=WEEKLY;BYDAY=TU", starts_on=date(2024, 3, 19))
    utc_times = {o.start.astimezone(STOCKHOLM).date(): o.start for o in series.occurrences}
    assert utc_times[date(2024, 3, 26)] == datetime(2024, 3, 26, 9, 0, tzinfo=UTC)
    assert utc_times[date(2024, 4, 2)] == datetime(2024, 4, 2, 8, 0, tzinfo=UTC)
    assert utc_times[date(2024, 10, 22)] == datetime(2024, 10, 22, 8, 0, tzinfo=UTC)
    assert utc_times[date(2024, 10, 29)] == datetime(2024, 10, 29, 9, 0, tzinfo=UTC)
    assert {o.start.astimezone(STOCKHOLM).time() for o in series.occurrences} == {time(10, 0)}


def test_skipped_dates_are_listed_with_the_reason(session):
    series = _series(session, rrule="FREQ=WEEKLY;BYDAY=TH", july_break=True)
    skipped = dict(services.skipped_dates(series, date(2024, 5, 1), date(2024, 7, 31)))
    assert skipped[date(2024, 5, 9)] == "Kristi himmelsfärdsdag"
    assert skipped[date(2024, 7, 4)] == "sommaruppehåll"
    assert date(2024, 5, 16) not in skipped
