"""The communication calendar: month and list pages, filters, and the same selection as
ICS (read back with vobject) and CSV (read back with the csv module)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time, timedelta

import vobject

from commsplan.activities import services
from commsplan.auth.models import Role
from commsplan.meetings.models import MeetingSeries, Occurrence
from commsplan.notices import services as notice_services
from commsplan.notices.models import NoticeKind
from commsplan.plan.models import ChannelKind
from commsplan.timeutil import STOCKHOLM
from tests import factories
from tests.activities.helpers import complete_data, groups
from tests.notices.helpers import make_notice, small_plan

MONTH = "2027-03"


def _fixture(session):  # type: ignore[no-untyped-def]
    plan = small_plan(session)
    g = groups(session)
    start = datetime(2027, 3, 10, 22, 0, tzinfo=STOCKHOLM)
    window = make_notice(
        session,
        NoticeKind.service_window,
        title="Servicefönster Journalen",
        starts_at=start,
        ends_at=start + timedelta(hours=3),
        service_ids=[plan.journalen.id],
    )
    release = make_notice(
        session,
        NoticeKind.release,
        title="Release Webbtidbok",
        release_date=datetime(2027, 3, 18).date(),
        service_ids=[plan.tidbok.id],
        group_ids=[g.residents.id],
    )
    contact = factories.make_contact(session)
    activity = services.create_activity(
        session,
        complete_data(
            g,
            title="Informera om fönstret",
            responsible_contact_id=contact.id,
            notice_ids=[window.id],
            groups=[services.GroupAnswer(g.staff.id, True, "Planera om", [g.intranet.id])],
        ),
        None,
    )
    meeting_channel = factories.make_channel(session, name="Nätverksmötet", kind=ChannelKind.meeting)
    series = MeetingSeries(title="Invånartjänster nätverk", starts_on=start.date(), start_time=time(13, 0))
    session.add(series)
    meet = datetime(2027, 3, 24, 13, 0, tzinfo=STOCKHOLM)
    session.add(
        Occurrence(series=series, uid="occ-1", original_start=meet, start=meet, end=meet + timedelta(hours=2))
    )
    outside = make_notice(
        session, NoticeKind.release, title="April-release", release_date=datetime(2027, 4, 2).date()
    )
    session.commit()
    return plan, g, window, release, activity, meeting_channel, outside


def test_month_and_list_views_show_everything_of_the_month(client, auth, session):
    _plan, _g, window, release, activity, _mc, outside = _fixture(session)
    auth.login(Role.viewer)
    month = client.get(f"/activities/calendar?month={MONTH}").get_data(as_text=True)
    assert "Servicefönster Journalen" in month and "Release Webbtidbok" in month
    assert "Informera om fönstret" in month and "Invånartjänster nätverk" in month
    assert "April-release" not in month
    assert f"/activities/{activity.id}" in month and f"/notices/{window.id}" in month
    # 2 working days before Wednesday 10 March is Monday 8 March.
    cell = month[month.index("2027-03-08") :][:800]
    assert "Informera om fönstret" in cell
    listing = client.get(f"/activities/calendar?month={MONTH}&view=list").get_data(as_text=True)
    assert listing.index("Informera om fönstret") < listing.index("Servicefönster Journalen")
    assert listing.index("Release Webbtidbok") < listing.index("Invånartjänster nätverk")
    assert "2027-04" in listing  # link to the next month


def test_filters_by_group_service_and_channel(client, auth, session):
    plan, g, _window, _release, _activity, meeting_channel, _o = _fixture(session)
    auth.login(Role.viewer)

    def titles(query: str) -> list[str]:
        body = client.get(f"/activities/calendar.csv?month={MONTH}&{query}").get_data(as_text=True)
        return [row["rubrik"] for row in csv.DictReader(io.StringIO(body.lstrip("\ufeff")), delimiter=";")]

    assert titles(f"group={g.residents.id}") == ["Release Webbtidbok"]
    assert titles(f"group={g.staff.id}") == ["Informera om fönstret", "Servicefönster Journalen"]
    assert titles(f"service={plan.tidbok.id}") == ["Release Webbtidbok"]
    assert titles(f"channel={g.intranet.id}") == ["Informera om fönstret", "Servicefönster Journalen"]
    assert titles(f"channel={meeting_channel.id}") == ["Invånartjänster nätverk"]
    assert len(titles("")) == 4
    assert client.get(f"/activities/calendar?month={MONTH}&group=999").status_code == 400
    assert client.get(f"/activities/calendar?month={MONTH}&group=99999999999999999999").status_code == 400
    assert client.get("/activities/calendar?month=2027-13").status_code == 400
    assert client.get("/activities/calendar?month=mars").status_code == 400
    assert client.get("/activities/calendar?view=year").status_code == 400


def test_ics_and_csv_carry_the_same_selection(client, auth, session):
    _plan, _g, window, release, _activity, _mc, _o = _fixture(session)
    auth.login(Role.viewer)
    response = client.get(f"/activities/calendar.ics?month={MONTH}")
    assert response.mimetype == "text/calendar"
    parsed = vobject.readOne(response.get_data(as_text=True))
    events = {e.summary.value: e for e in parsed.vevent_list}
    assert len(events) == 4
    window_event = next(e for s, e in events.items() if "Servicefönster Journalen" in s)
    assert window_event.uid.value == window.uid
    assert window_event.dtstart.value == datetime(2027, 3, 10, 22, 0, tzinfo=STOCKHOLM)
    release_event = next(e for s, e in events.items() if "Release Webbtidbok" in s)
    assert release_event.dtstart.value == datetime(2027, 3, 18).date()
    assert f"https://commsplan.example.org/notices/{release.id}" == release_event.url.value
    body = client.get(f"/activities/calendar.csv?month={MONTH}").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff")), delimiter=";"))
    assert rows[0][:5] == ["start", "slut", "heldag", "typ", "rubrik"]
    assert rows[3][:3] == ["2027-03-18", "", "ja"]


def test_csv_cells_cannot_become_formulas(client, auth, session):
    small_plan(session)
    outage = make_notice(session, NoticeKind.outage, title="=HYPERLINK(1)")
    notice_services.publish(session, outage, None)
    session.commit()
    auth.login(Role.viewer)
    month = outage.starts_at.astimezone(STOCKHOLM).strftime("%Y-%m")
    body = client.get(f"/activities/calendar.csv?month={month}").get_data(as_text=True)
    assert "'=HYPERLINK(1)" in body


def test_calendar_and_start_page_cost_the_same_for_few_or_many_notices(app, client, auth, session):
    from tests.activities.helpers import complete_activity
    from tests.activities.test_views import _queries_for

    small_plan(session)
    g = groups(session)
    auth.login(Role.viewer)

    def add(n: int) -> None:
        for i in range(n):
            notice = make_notice(
                session,
                NoticeKind.release,
                title=f"Release {i}",
                release_date=datetime(2027, 3, 1 + i % 28).date(),
            )
            complete_activity(session, notice, g)
        session.commit()

    add(3)
    calendar_few = _queries_for(app, client, f"/activities/calendar?month={MONTH}")
    start_few = _queries_for(app, client, "/")
    add(25)
    assert _queries_for(app, client, f"/activities/calendar?month={MONTH}") == calendar_few
    assert _queries_for(app, client, "/") == start_few
