"""Meeting pages as a coordinator and a viewer use them."""

from __future__ import annotations

import html
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from commsplan.auth.models import Role
from commsplan.meetings import services
from commsplan.meetings.models import MeetingSeries, OccurrenceStatus
from commsplan.meetings.services import SeriesData
from commsplan.timeutil import utcnow
from tests import factories

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def _form(**overrides):
    data = {
        "title": "Nätverket Invånartjänster",
        "kind": "network",
        "cadence": "quarterly",
        "ordinal": "1",
        "weekday": "WE",
        "week_interval": "1",
        "starts_on": date.today().replace(day=1).isoformat(),
        "start_time": "13:00",
        "duration_minutes": "120",
        "location": "Akademiska sjukhuset, ingång 10",
        "online_url": "https://meet.example.org/natverket",
        "organiser_name": "Invånartjänster e-hälsa",
        "organiser_email": "invanartjanster@example.org",
        "holiday_policy": "next_working_day",
    }
    data.update(overrides)
    return data


def _series(session, **overrides):
    values = {
        "title": "Agenda 1177 – status och nyheter",
        "start_time": time(9, 0),
        "starts_on": date.today() - timedelta(days=60),
        "duration_minutes": 120,
        "rrule": "FREQ=MONTHLY;BYDAY=2TU",
        "registration_open": True,
    }
    values.update(overrides)
    series = services.create_series(session, SeriesData(**values))
    session.commit()
    return series


def test_menu_shows_meetings(client, auth):
    auth.login(Role.viewer)
    page = client.get("/meetings/").get_data(as_text=True)
    assert 'href="/meetings/" aria-current="page"' in page
    assert "Möten" in page


def test_coordinator_creates_a_quarterly_series_with_participants(client, auth, session):
    auth.login(Role.coordinator)
    unit = factories.make_unit(session, name="Nära vård och hälsa")
    group = factories.make_stakeholder_group(session, name="Vårdgivare – chefer")
    direct = factories.make_contact(session, name="Direkt Deltagare")
    via_unit = factories.make_contact(session, name="Enhetens Kontakt", unit=unit)
    via_group = factories.make_contact(session, name="Gruppens Kontakt")
    via_group.groups.append(group)
    factories.make_contact(session, name="Utanför")
    factories.make_contact(session, name="Inaktiv", unit=unit, active=False)
    session.commit()

    form_page = client.get("/meetings/new").get_data(as_text=True)
    assert "<legend>Hur ofta</legend>" in form_page and "Enskilda kontakter" in form_page

    unknown = client.post("/meetings/new", data=_form(contacts="okand@example.org"))
    assert unknown.status_code == 400 and "okand@example.org" in unknown.get_data(as_text=True)
    response = client.post(
        "/meetings/new",
        data=_form(contacts=direct.email.upper(), units=[str(unit.id)], groups=[str(group.id)]),
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    series = session.scalar(select(MeetingSeries))
    assert series.rrule == "FREQ=MONTHLY;INTERVAL=3;BYDAY=1WE"
    assert {c.name for c in services.participants_of(session, series)} == {
        "Direkt Deltagare",
        "Enhetens Kontakt",
        "Gruppens Kontakt",
    }
    assert series in services.series_for_contact(session, via_group)
    assert services.occurrences_for_contact(session, via_unit)
    assert len(series.occurrences) in (8, 9)  # four a year over 24 months

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Nätverket Invånartjänster" in page and "Kommande möten" in page

    edit = client.get(f"/meetings/{series.id}/edit").get_data(as_text=True)
    assert 'checked id="cadence-1" name="cadence" type="radio" value="quarterly"' in edit


def test_invalid_series_form_is_400_and_stores_nothing(client, auth, session):
    auth.login(Role.coordinator)
    response = client.post("/meetings/new", data=_form(cadence="custom", rrule="FREQ=HOURLY"))
    assert response.status_code == 400
    assert 'href="#rrule">Upprepningsregel (RRULE): Möten kan upprepas' in response.get_data(as_text=True)
    response = client.post("/meetings/new", data=_form(cadence="dates", explicit_dates="2024-13-01"))
    assert response.status_code == 400
    assert "ÅÅÅÅ-MM-DD" in response.get_data(as_text=True)
    response = client.post("/meetings/new", data=_form(cadence="dates", explicit_dates="0001-01-01"))
    assert response.status_code == 400
    response = client.post("/meetings/new", data=_form(starts_on="0001-01-01"))
    assert response.status_code == 400
    # The app-wide date bound (commsplan.inputs) answers before the series' own.
    assert 'href="#starts_on">Första datum: Ange ett datum mellan' in response.get_data(as_text=True)
    response = client.post("/meetings/new", data=_form(starts_on="2150-01-01"))
    assert response.status_code == 400
    assert 'href="#starts_on">Första datum: Första datum ska ligga mellan' in response.get_data(as_text=True)
    response = client.post("/meetings/new", data=_form(title="", online_url="not a url"))
    assert response.status_code == 400
    assert session.scalar(select(MeetingSeries)) is None


def test_explicit_dates_through_the_form(client, auth, session):
    auth.login(Role.coordinator)
    dates = "2024-03-06\n2024-04-10, 2024-05-23"
    response = client.post(
        "/meetings/new", data=_form(cadence="dates", explicit_dates=dates, kind="information")
    )
    assert response.status_code == 302
    series = session.scalar(select(MeetingSeries))
    assert series.explicit_dates == ["2024-03-06", "2024-04-10", "2024-05-23"]
    assert [o.start.astimezone(STOCKHOLM).date() for o in series.occurrences] == [
        date(2024, 3, 6),
        date(2024, 4, 10),
        date(2024, 5, 23),
    ]


def test_viewer_cannot_change_meetings(client, auth, session):
    series = _series(session)
    auth.login(Role.viewer)
    assert client.get(f"/meetings/{series.id}").status_code == 200
    assert client.post("/meetings/new", data=_form()).status_code == 403
    occ = services.upcoming(series)[0]
    assert client.post(f"/meetings/occurrences/{occ.id}/cancel").status_code == 403


def test_move_and_cancel_one_occurrence(client, auth, session):
    series = _series(session)
    auth.login(Role.coordinator)
    first, second, third = services.upcoming(series)[:3]
    day = first.start.astimezone(STOCKHOLM).date() + timedelta(days=1)
    response = client.post(
        f"/meetings/occurrences/{first.id}/move",
        data={"day": day.isoformat(), "start_time": "13:00", "end_time": "14:30", "location": "Rum 2"},
    )
    assert response.status_code == 302
    response = client.post(
        f"/meetings/occurrences/{second.id}/move",
        data={"day": day.isoformat(), "start_time": "13:00", "end_time": "12:00"},
    )
    assert response.status_code == 400
    assert "Sluttiden" in response.get_data(as_text=True)
    response = client.post(
        f"/meetings/occurrences/{second.id}/move",
        data={"day": "0001-01-01", "start_time": "00:30", "end_time": "01:00"},
    )
    assert response.status_code == 400
    assert "Ange ett datum mellan" in response.get_data(as_text=True)  # commsplan.inputs
    response = client.post(
        f"/meetings/occurrences/{second.id}/move",
        data={"day": "2150-01-01", "start_time": "00:30", "end_time": "01:00"},
    )
    assert response.status_code == 400
    assert "Datumet ska ligga mellan" in response.get_data(as_text=True)

    confirm = client.get(f"/meetings/occurrences/{second.id}/cancel").get_data(as_text=True)
    assert "Ja, ställ in mötet" in confirm
    assert (
        client.post(f"/meetings/occurrences/{second.id}/cancel", data={"note": "Sjukdom"}).status_code == 302
    )
    session.expire_all()
    assert first.start.astimezone(STOCKHOLM) == datetime.combine(day, time(13, 0), tzinfo=STOCKHOLM)
    assert first.location == "Rum 2" and first.sequence == 1
    assert second.status is OccurrenceStatus.cancelled and second.sequence == 1
    assert third.sequence == 0 and third.status is OccurrenceStatus.scheduled

    page = client.get(f"/meetings/{series.id}").get_data(as_text=True)
    assert "Inställt" in page and "Flyttat" in page
    occ_page = client.get(f"/meetings/occurrences/{second.id}").get_data(as_text=True)
    assert "Mötet är inställt." in occ_page and "Sjukdom" in occ_page


def test_agenda_editor_computes_times_and_prints(client, auth, session):
    series = _series(session)
    occ = services.upcoming(series)[0]
    auth.login(Role.coordinator)
    assert client.get(f"/meetings/occurrences/{occ.id}/agenda").status_code == 200
    rows = [
        ("Agenda, inledning och syfte", "Moderator", "10", "", ""),
        ("Nyttokalkyl", "Strateg, Inera", "30", "", ""),
        ("Sammanhållen planering", "Projektledare", "20", "", ""),
        ("Paus", "", "10", "09:50", "y"),
        ("Listningstjänst för vårdval", "Verksamhetsutvecklare", "10", "", ""),
    ]
    data = {"practical_notes": "* Skriv i chatten\n* Mötet spelas in\n<script>alert(1)</script>"}
    for i, (title, presenter, minutes, fixed, is_break) in enumerate(rows):
        data |= {
            f"items-{i}-title": title,
            f"items-{i}-presenter": presenter,
            f"items-{i}-duration_minutes": minutes,
            f"items-{i}-fixed_start": fixed,
        }
        if is_break:
            data[f"items-{i}-is_break"] = "y"
    data["items-5-title"] = ""  # an empty row is ignored
    response = client.post(f"/meetings/occurrences/{occ.id}/agenda", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    session.expire_all()
    times = [(item.title, start.strftime("%H.%M")) for item, start in services.agenda_with_times(occ)]
    assert times == [
        ("Agenda, inledning och syfte", "09.00"),
        ("Nyttokalkyl", "09.10"),
        ("Sammanhållen planering", "09.40"),
        ("Paus", "09.50"),
        ("Listningstjänst för vårdval", "10.00"),
    ]
    assert services.agenda_numbers(occ)[occ.agenda_items[4].id] == 4  # the break has no number

    page = client.get(f"/meetings/occurrences/{occ.id}/agenda/print").get_data(as_text=True)
    assert "09.40" in page and "Projektledare" in page and "print.css" in page
    assert "<li>Skriv i chatten</li>" in page and "<script>" not in page

    # The next occurrence copies the agenda.
    nxt = services.upcoming(series)[1]
    assert client.post(f"/meetings/occurrences/{nxt.id}/agenda/copy").status_code == 302
    session.expire_all()
    assert [i.title for i in nxt.agenda_items] == [r[0] for r in rows]
    assert "Skriv i chatten" in nxt.practical_notes


def test_agenda_times_follow_a_moved_meeting(session):
    series = _series(session)
    occ = services.upcoming(series)[0]
    services.replace_agenda(
        session,
        occ,
        [services.AgendaItemData("Inledning", duration_minutes=15), services.AgendaItemData("Status")],
    )
    new_start = datetime.combine(occ.start.astimezone(STOCKHOLM).date(), time(14, 0), tzinfo=STOCKHOLM)
    services.move_occurrence(session, occ, new_start, new_start + timedelta(hours=1))
    assert [s.strftime("%H.%M") for _, s in services.agenda_with_times(occ)] == ["14.00", "14.15"]


def test_participant_list_and_csv(client, auth, session):
    series = _series(session)
    occ = services.upcoming(series)[0]
    factories.make_registration(session, occ, "Anna Andersson", "Anna@Example.org", "Region Uppsala")
    factories.make_registration(session, occ, "=HYPERLINK()", "b@example.org", "")
    session.commit()
    auth.login(Role.viewer)
    page = client.get(f"/meetings/occurrences/{occ.id}").get_data(as_text=True)
    assert "<strong>2</strong>" in page
    # Readers see the count, not the people.
    assert client.get(f"/meetings/occurrences/{occ.id}/registrations").status_code == 403
    assert client.get(f"/meetings/occurrences/{occ.id}/registrations.csv").status_code == 403
    auth.logout()
    auth.login(Role.coordinator)
    listing = client.get(f"/meetings/occurrences/{occ.id}/registrations").get_data(as_text=True)
    assert "anna@example.org" in listing and "Region Uppsala" in listing
    csv_response = client.get(f"/meetings/occurrences/{occ.id}/registrations.csv")
    assert csv_response.mimetype == "text/csv"
    body = csv_response.get_data(as_text=True)
    assert "Anna Andersson;anna@example.org;Region Uppsala" in body
    assert "'=HYPERLINK()" in body


def test_delete_series_with_registrations_is_blocked(client, auth, session):
    series = _series(session)
    factories.make_registration(session, services.upcoming(series)[0], "A", "a@example.org")
    session.commit()
    auth.login(Role.coordinator)
    page = client.get(f"/meetings/{series.id}/delete").get_data(as_text=True)
    assert "anmälningar" in page
    client.post(f"/meetings/{series.id}/delete")
    assert session.get(MeetingSeries, series.id) is not None


def test_delete_series(client, auth, session):
    series = _series(session, registration_open=False)
    auth.login(Role.coordinator)
    assert client.post(f"/meetings/{series.id}/delete").status_code == 302
    session.expire_all()
    assert session.scalar(select(MeetingSeries)) is None


def test_registration_is_closed_for_past_and_cancelled_occurrences(session):
    series = _series(session)
    past = [o for o in series.occurrences if o.start < utcnow()][0]
    upcoming = services.upcoming(series)[0]
    services.cancel_occurrence(session, upcoming)
    assert not services.registration_is_open(past)
    assert not services.registration_is_open(upcoming)
    assert services.registration_is_open(services.upcoming(series)[1], now=datetime.now(UTC))


def test_agenda_rows_can_be_reordered_and_removed(client, auth, session):
    series = _series(session)
    occ = services.upcoming(series)[0]
    services.replace_agenda(
        session,
        occ,
        [services.AgendaItemData(t, duration_minutes=10) for t in ("Första", "Andra", "Tredje")],
    )
    session.commit()
    auth.login(Role.coordinator)
    page = client.get(f"/meetings/occurrences/{occ.id}/agenda").get_data(as_text=True)
    assert 'for="items-0-title">Punkt 1</label>' in page
    data = {
        "items-0-position": "3", "items-0-title": "Första", "items-0-duration_minutes": "10",
        "items-1-position": "2", "items-1-title": "", "items-1-duration_minutes": "10",
        "items-2-position": "1", "items-2-title": "Tredje", "items-2-duration_minutes": "15",
    }  # fmt: skip
    assert client.post(f"/meetings/occurrences/{occ.id}/agenda", data=data).status_code == 302
    session.expire_all()
    assert [(i.title, s.strftime("%H.%M")) for i, s in services.agenda_with_times(occ)] == [
        ("Tredje", "09.00"),
        ("Första", "09.15"),
    ]
    bad = dict(data, **{"items-0-material_url": "inte en länk"})
    response = client.post(f"/meetings/occurrences/{occ.id}/agenda", data=bad)
    assert response.status_code == 400
    assert "Rad 1, Länk till material: Ange en fullständig webbadress" in response.get_data(as_text=True)


def test_saving_an_unchanged_agenda_keeps_the_sequence(session):
    series = _series(session)
    occ = services.upcoming(series)[0]
    items = [services.AgendaItemData("Inledning", "Moderator", 10)]
    assert services.replace_agenda(session, occ, items)
    assert occ.sequence == 1
    assert not services.replace_agenda(session, occ, items)
    assert occ.sequence == 1


def test_cadence_is_described_in_words(session):
    from commsplan.meetings.forms import describe_cadence

    cases = {
        "FREQ=MONTHLY;BYDAY=2TU": "varje månad, andra tisdagen",
        "FREQ=MONTHLY;INTERVAL=3;BYDAY=1WE": "var tredje månad, första onsdagen",
        "FREQ=WEEKLY;BYDAY=FR": "varje fredag",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO": "var 2:e vecka på måndag",
        "FREQ=YEARLY;BYMONTH=3": "FREQ=YEARLY;BYMONTH=3",
    }
    for rule, words in cases.items():
        assert describe_cadence(MeetingSeries(rrule=rule)) == words
    assert describe_cadence(MeetingSeries(rrule=None, explicit_dates=["2024-03-06"])) == "egna datum"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("sv", "Upprepningsregeln är ogiltig: 9XX är inget giltigt värde för BYDAY."),
        ("en", "The repeat rule is not valid: 9XX is not a valid value for BYDAY."),
    ],
)
def test_invalid_repeat_rule_is_explained_in_the_users_language(client, auth, session, language, expected):
    auth.login(Role.coordinator)
    client.post(f"/language/{language}", data={"next": "/"})
    response = client.post("/meetings/new", data=_form(cadence="custom", rrule="FREQ=WEEKLY;BYDAY=9XX"))
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert expected in page
    assert "invalid 'BYDAY'" not in page
    assert session.scalars(select(MeetingSeries)).first() is None
