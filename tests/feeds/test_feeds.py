"""Calendar feeds as a calendar program sees them: parsed back with vobject."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
import vobject

from commsplan.feeds import ical
from commsplan.feeds.models import FeedKind
from commsplan.meetings import services as meetings
from commsplan.meetings.models import OccurrenceStatus
from tests import factories
from tests.feeds.helpers import dst_dates, events_by_uid, make_series, parse, token_for, utc

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def _at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _get(client, kind: str, token: str, **headers):  # type: ignore[no-untyped-def]
    return client.get(f"/feeds/{kind}/{token}.ics", headers=headers)


def test_series_feed_is_text_calendar_with_vtimezone_and_local_times_across_dst(client, session):
    series = make_series(session)
    token = token_for(session, FeedKind.series, series.id)

    response = _get(client, "series", token)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = parse(response.data)
    assert calendar.method.value == "PUBLISH"
    assert calendar.version.value == "2.0"
    assert calendar.prodid.value
    assert calendar.contents["x-wr-calname"][0].value == "Nätverket Invånartjänster"
    assert [tz.tzid.value for tz in calendar.vtimezone_list] == ["Europe/Stockholm"]
    assert b"DTSTART;TZID=Europe/Stockholm:" in response.data

    dates = dst_dates()
    starts = sorted(utc(event.dtstart.value) for event in calendar.vevent_list)
    # 10:00 local is 09:00 UTC in winter time and 08:00 UTC in summer time.
    assert starts == [
        _at(dates["before_spring"], 9),
        _at(dates["after_spring"], 8),
        _at(dates["before_autumn"], 8),
        _at(dates["after_autumn"], 9),
    ]
    for event in calendar.vevent_list:
        assert event.dtstart.value.astimezone(STOCKHOLM).hour == 10
        assert event.dtend.value - event.dtstart.value == timedelta(hours=2)
        assert event.status.value == "CONFIRMED"
        assert event.summary.value == "Nätverket Invånartjänster"
        assert event.location.value == "Akademiska sjukhuset, ingång 70"
        assert "https://meet.example.org/natverket" in event.description.value
        assert event.organizer.value == "mailto:invanartjanster@example.org"
        assert event.dtstamp.value.tzinfo is not None
        assert event.sequence.value == "0"


def test_recurring_ical_events_expands_each_occurrence_once(client, session):
    series = make_series(session)
    token = token_for(session, FeedKind.series, series.id)
    body = _get(client, "series", token).data

    dates = sorted(dst_dates().values())
    found = recurring_ical_events.of(icalendar.Calendar.from_ical(body)).between(
        dates[0], dates[-1] + timedelta(days=1)
    )

    assert sorted(event.start.astimezone(STOCKHOLM).date() for event in found) == dates
    assert all(event.start.astimezone(STOCKHOLM).hour == 10 for event in found)


def test_the_vtimezone_agrees_with_the_zone_database_for_every_year_served(app):
    calendar = vobject.readOne(ical.new_calendar("Test").to_ical().decode())
    vtimezone = calendar.vtimezone.gettzinfo()
    for year in range(2020, 2040):
        for month, day in ((3, 1), (3, 20), (4, 10), (7, 1), (10, 1), (11, 5), (12, 24)):
            moment = datetime(year, month, day, 10, tzinfo=UTC)
            assert moment.astimezone(vtimezone).utcoffset() == moment.astimezone(STOCKHOLM).utcoffset(), (
                moment
            )
        # The hours around each change, where a wrong DTSTART in the VTIMEZONE would show.
        for transition in _transitions(year):
            for delta in (timedelta(minutes=-1), timedelta(minutes=1)):
                moment = transition + delta
                assert moment.astimezone(vtimezone).utcoffset() == moment.astimezone(STOCKHOLM).utcoffset(), (
                    moment
                )


def _transitions(year: int) -> list[datetime]:
    found = []
    moment = datetime(year, 1, 1, tzinfo=UTC)
    offset = moment.astimezone(STOCKHOLM).utcoffset()
    while moment.year == year:
        step = moment + timedelta(hours=1)
        if step.astimezone(STOCKHOLM).utcoffset() != offset:
            found.append(step)
            offset = step.astimezone(STOCKHOLM).utcoffset()
        moment = step
    return found


def test_uids_are_stable_when_the_series_is_regenerated(client, session):
    series = make_series(session)
    token = token_for(session, FeedKind.series, series.id)
    before = set(events_by_uid(parse(_get(client, "series", token).data)))

    meetings.regenerate(session, series)
    data = meetings.SeriesData(
        title="Nätverket Invånartjänster (nytt namn)",
        start_time=series.start_time,
        starts_on=series.starts_on,
        duration_minutes=series.duration_minutes,
        explicit_dates=list(series.explicit_dates or []),
        location=series.location,
        online_url=series.online_url,
        organiser_name=series.organiser_name,
        organiser_email=series.organiser_email,
    )
    meetings.update_series(session, series, data)
    session.commit()
    after = events_by_uid(parse(_get(client, "series", token).data))

    assert set(after) == before
    assert all(event.summary.value.endswith("(nytt namn)") for event in after.values())
    assert all(int(event.sequence.value) >= 1 for event in after.values())


def test_a_moved_occurrence_keeps_its_uid_with_a_raised_sequence(client, session):
    series = make_series(session)
    token = token_for(session, FeedKind.series, series.id)
    occurrence = series.occurrences[1]
    uid = occurrence.uid
    first = events_by_uid(parse(_get(client, "series", token).data))[uid]

    new_start = occurrence.start + timedelta(days=1, hours=3)
    meetings.move_occurrence(session, occurrence, new_start, new_start + timedelta(hours=1))
    session.commit()
    moved = events_by_uid(parse(_get(client, "series", token).data))[uid]

    assert int(moved.sequence.value) > int(first.sequence.value)
    assert utc(moved.dtstart.value) == new_start
    assert moved.dtstart.value.astimezone(STOCKHOLM).hour == 13
    assert utc(moved.dtend.value) == new_start + timedelta(hours=1)


def test_a_cancelled_occurrence_stays_in_the_feed_as_cancelled(client, session):
    series = make_series(session)
    token = token_for(session, FeedKind.series, series.id)
    occurrence = series.occurrences[0]
    meetings.cancel_occurrence(session, occurrence, note="Inställt på grund av sjukdom.")
    session.commit()

    events = events_by_uid(parse(_get(client, "series", token).data))

    assert len(events) == 4
    cancelled = events[occurrence.uid]
    assert cancelled.status.value == "CANCELLED"
    assert int(cancelled.sequence.value) == 1
    assert "Inställt på grund av sjukdom." in cancelled.description.value
    others = [e for uid, e in events.items() if uid != occurrence.uid]
    assert all(e.status.value == "CONFIRMED" for e in others)
    assert occurrence.status is OccurrenceStatus.cancelled


def test_agenda_is_summarised_in_the_description(client, session):
    series = make_series(session)
    occurrence = series.occurrences[0]
    meetings.replace_agenda(
        session,
        occurrence,
        [
            meetings.AgendaItemData(title="Välkommen", presenter="Ordförande", duration_minutes=10),
            meetings.AgendaItemData(title="Nyheter i 1177", presenter="Inera", duration_minutes=30),
            meetings.AgendaItemData(title="Paus", is_break=True, duration_minutes=10),
        ],
    )
    session.commit()
    token = token_for(session, FeedKind.series, series.id)

    description = events_by_uid(parse(_get(client, "series", token).data))[occurrence.uid].description.value

    assert "1. 10.00 Välkommen (Ordförande)" in description
    assert "2. 10.10 Nyheter i 1177 (Inera)" in description
    assert "10.40 Paus" in description


def test_unchanged_feed_answers_304_to_if_none_match_and_if_modified_since(client, session):
    series = make_series(session)
    token = token_for(session, FeedKind.series, series.id)
    first = _get(client, "series", token)
    etag = first.headers["ETag"]
    last_modified = first.headers["Last-Modified"]
    assert etag and last_modified
    assert "no-store" not in first.headers["Cache-Control"]

    by_etag = _get(client, "series", token, **{"If-None-Match": etag})
    by_date = _get(client, "series", token, **{"If-Modified-Since": last_modified})

    assert by_etag.status_code == 304 and by_etag.data == b""
    assert by_etag.headers["ETag"] == etag
    assert by_date.status_code == 304
    assert _get(client, "series", token, **{"If-None-Match": '"something-else"'}).status_code == 200


def test_a_change_gives_a_new_etag_and_a_full_answer(client, session):
    series = make_series(session)
    token = token_for(session, FeedKind.series, series.id)
    first = _get(client, "series", token)

    meetings.cancel_occurrence(session, series.occurrences[2])
    session.commit()
    second = _get(client, "series", token, **{"If-None-Match": first.headers["ETag"]})

    assert second.status_code == 200
    assert second.headers["ETag"] != first.headers["ETag"]
    assert b"STATUS:CANCELLED" in second.data


def test_deleting_an_occurrence_counts_as_modified_for_if_modified_since(client, session):
    series = make_series(session)
    token = token_for(session, FeedKind.series, series.id)
    first = _get(client, "series", token)

    session.delete(series.occurrences[-1])
    session.commit()
    again = _get(client, "series", token, **{"If-Modified-Since": first.headers["Last-Modified"]})

    assert again.status_code == 200
    assert len(parse(again.data).vevent_list) == 3


def test_unknown_token_is_404(client, session):
    make_series(session)
    session.commit()
    assert _get(client, "series", "not-a-token").status_code == 404


def test_a_token_only_opens_its_own_kind_of_feed(client, session):
    series = make_series(session)
    token = token_for(session, FeedKind.series, series.id)
    assert _get(client, "region", token).status_code == 404
    assert _get(client, "contact", token).status_code == 404


def test_contact_feed_holds_only_the_contacts_meetings(client, session):
    unit = factories.make_unit(session)
    member = factories.make_contact(session, name="Anna Medlem", unit=unit)
    outsider = factories.make_contact(session, name="Olle Utanför")
    mine = make_series(session, title="Samverkan förvaltningar", units=[unit])
    make_series(session, title="Annan serie", contacts=[outsider])
    token = token_for(session, FeedKind.contact, member.id)

    calendar = parse(_get(client, "contact", token).data)

    assert {event.summary.value for event in calendar.vevent_list} == {"Samverkan förvaltningar"}
    assert len(calendar.vevent_list) == len(mine.occurrences)
    assert calendar.contents["x-wr-calname"][0].value == "Möten för Anna Medlem"


def test_region_feed_combines_every_series(client, session):
    make_series(session, title="Nätverket")
    make_series(session, title="Informationsmöte Agenda 1177")
    token = token_for(session, FeedKind.region)

    calendar = parse(_get(client, "region", token).data)

    assert {event.summary.value for event in calendar.vevent_list} == {
        "Nätverket",
        "Informationsmöte Agenda 1177",
    }
    assert len(calendar.vevent_list) == 8


def test_region_feed_holds_published_service_windows_and_releases(client, session):
    from commsplan.notices import services as notices
    from commsplan.notices.models import NoticeKind
    from tests.notices.helpers import make_notice

    make_series(session, title="Nätverket")
    dates = dst_dates()
    autumn, spring = dates["after_autumn"], dates["before_spring"]
    window_start = datetime(autumn.year, autumn.month, autumn.day, 18, 0, tzinfo=STOCKHOLM)
    window = make_notice(
        session,
        NoticeKind.service_window,
        title="Uppgradering av Journalen",
        starts_at=window_start,
        ends_at=window_start + timedelta(hours=3),
    )
    release = make_notice(session, NoticeKind.release, title="Ny version av Webbtidbok", release_date=spring)
    called_off = make_notice(session, NoticeKind.service_window, title="Inställt fönster")
    draft = make_notice(session, NoticeKind.service_window, title="Utkast syns inte")
    outage = make_notice(session, NoticeKind.outage, title="Driftstörning syns inte")
    for notice in (window, release, called_off, outage):
        notices.publish(session, notice, None)
    notices.cancel(session, called_off, None, body="Blir inte av.")
    session.commit()
    token = token_for(session, FeedKind.region)

    events = events_by_uid(parse(_get(client, "region", token).data))

    assert draft.uid not in events and outage.uid not in events
    shown = events[window.uid]
    assert shown.summary.value == "Servicefönster: Uppgradering av Journalen"
    assert utc(shown.dtstart.value) == _at(autumn, 17)  # 18:00 CET
    assert utc(shown.dtend.value) == _at(autumn, 20)
    assert shown.transp.value == "TRANSPARENT"
    assert f"/status/{window.uid}" in shown.url.value
    day = events[release.uid]
    assert day.dtstart.value == spring  # all-day
    assert day.summary.value == "Release: Ny version av Webbtidbok (2.4)"
    assert events[called_off.uid].status.value == "CANCELLED"
    assert sum(1 for e in events.values() if e.summary.value == "Nätverket") == 4


def test_a_changed_notice_changes_the_region_etag(client, session):
    from commsplan.notices import services as notices
    from commsplan.notices.models import NoticeKind
    from tests.notices.helpers import make_notice

    window = make_notice(session, NoticeKind.service_window)
    notices.publish(session, window, None)
    session.commit()
    token = token_for(session, FeedKind.region)
    first = _get(client, "region", token)

    notices.cancel(session, window, None, body="Blir inte av.")
    session.commit()
    second = _get(client, "region", token, **{"If-None-Match": first.headers["ETag"]})

    assert second.status_code == 200
    assert events_by_uid(parse(second.data))[window.uid].status.value == "CANCELLED"


def test_the_same_data_renders_the_same_bytes(session):
    from commsplan.feeds import services

    series = make_series(session)
    session.commit()

    assert services.build_series_feed(session, series) == services.build_series_feed(session, series)


def test_events_link_to_a_page_that_works_without_an_account(client, session):
    open_series = make_series(session, title="Informationsmöte", registration_open=True)
    closed_series = make_series(session, title="Nätverket")
    token = token_for(session, FeedKind.region)

    events = events_by_uid(parse(_get(client, "region", token).data))

    for series in (open_series, closed_series):
        occurrence = series.occurrences[0]
        url = events[occurrence.uid].url.value
        assert url.startswith(f"https://commsplan.example.org/meetings/public/{occurrence.id}?key=")
        page = client.get(url.removeprefix("https://commsplan.example.org"))
        assert page.status_code == 200, url
        assert series.title in page.get_data(as_text=True)


def test_a_deleted_series_feed_is_gone(client, session):
    series = make_series(session)
    token = token_for(session, FeedKind.series, series.id)
    session.delete(series)
    session.commit()

    assert _get(client, "series", token).status_code == 404


def test_an_agenda_added_later_reaches_the_feed(client, session):
    series = make_series(session)
    token = token_for(session, FeedKind.series, series.id)
    occurrence = series.occurrences[0]
    before = events_by_uid(parse(_get(client, "series", token).data))[occurrence.uid]
    assert "Dagordning" not in before.description.value

    meetings.replace_agenda(
        session, occurrence, [meetings.AgendaItemData(title="Nyheter", duration_minutes=20)]
    )
    session.commit()
    after = events_by_uid(parse(_get(client, "series", token).data))

    assert "1. 10.00 Nyheter" in after[occurrence.uid].description.value
    assert all("Dagordning" not in e.description.value for uid, e in after.items() if uid != occurrence.uid)


def test_old_cache_rows_are_pruned_and_the_feed_still_works(client, session):
    from sqlalchemy import func, select

    from commsplan.feeds import services
    from commsplan.feeds.models import FeedCache

    series = make_series(session)
    token = token_for(session, FeedKind.series, series.id)
    first = _get(client, "series", token)
    assert session.scalar(select(func.count()).select_from(FeedCache)) == 5  # the feed and its 4 events

    later = datetime.now(UTC) + timedelta(days=services.CACHE_DAYS + 1)
    assert services.prune_cache(session, later) == 5

    again = _get(client, "series", token)
    assert again.status_code == 200
    assert again.data == first.data
