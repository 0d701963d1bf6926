"""Links: every URL field, in forms and the API, takes http(s) only (mailto: where a
field allows it), through one check, ``commsplan.inputs.url_problem`` (issue 10, point 6).
WTForms' URL() let ``javascript://x/%0Aalert(1)`` through to pages, mail and ICS."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError
from sqlalchemy import select
from wtforms import Form, StringField

from commsplan.api import fields as api_fields
from commsplan.auth.models import Role
from commsplan.forms import WebAddress
from commsplan.inputs import WEB_OR_MAIL, url_problem
from commsplan.meetings import services
from commsplan.meetings.models import AgendaItem, MeetingSeries
from commsplan.meetings.services import SeriesData

HOSTILE = [
    "javascript://x/%0Aalert(1)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "https://exa mple.org",
    "https://example.org/\nX-Injected: 1",
    "//evil.example.net/",
    "https://",
    "mailto:someone@example.org",
]


def _series(session):
    series = services.create_series(
        session,
        SeriesData(
            title="Agenda 1177", start_time=time(9, 0), starts_on=date.today() - timedelta(days=40),
            rrule="FREQ=MONTHLY;BYDAY=2TH", registration_open=True,
        ),
    )  # fmt: skip
    session.commit()
    return series


SERIES_FORM = {
    "title": "Nätverket", "kind": "network", "cadence": "quarterly", "ordinal": "1", "weekday": "WE",
    "week_interval": "1", "starts_on": date.today().replace(day=1).isoformat(), "start_time": "13:00",
    "duration_minutes": "120", "holiday_policy": "next_working_day",
}  # fmt: skip


@pytest.mark.parametrize("url", HOSTILE)
def test_every_link_field_of_the_meetings_refuses_other_schemes(client, auth, session, url):
    occ = services.upcoming(_series(session))[0]
    auth.login(Role.coordinator)
    before = session.scalar(select(MeetingSeries.online_url).limit(1))
    posts = [
        ("/meetings/new", SERIES_FORM | {"online_url": url}),
        (f"/meetings/occurrences/{occ.id}/agenda", {"material_url": url}),
        (f"/meetings/occurrences/{occ.id}/agenda", {"minutes_url": url}),
        (f"/meetings/occurrences/{occ.id}/agenda", {"items-0-title": "Punkt", "items-0-material_url": url}),
        (
            f"/meetings/occurrences/{occ.id}/move",
            {"day": (occ.start + timedelta(days=1)).date().isoformat(), "start_time": "10:00",
             "end_time": "11:00", "online_url": url},
        ),
    ]  # fmt: skip
    for path, data in posts:
        response = client.post(path, data=data)
        assert response.status_code == 400, (path, response.status_code)
        assert "Ange en fullständig webbadress" in response.get_data(as_text=True), path
    session.expire_all()
    assert session.scalars(select(MeetingSeries)).all().__len__() == 1
    assert session.scalar(select(MeetingSeries.online_url).limit(1)) == before
    assert session.scalars(select(AgendaItem)).all() == []


@pytest.mark.parametrize("url", HOSTILE[:-1])
def test_the_api_field_refuses_them_too(url):
    class LinkSchema(Schema):
        link = api_fields.WebAddress()
        contact = api_fields.WebAddress(schemes=WEB_OR_MAIL)

    with pytest.raises(ValidationError):
        LinkSchema().load({"link": url})
    with pytest.raises(ValidationError):
        LinkSchema().load({"contact": url})
    assert LinkSchema().load({"contact": "mailto:drift@example.org"}) == {
        "contact": "mailto:drift@example.org"
    }


_HOST = st.from_regex(r"[a-z0-9-]{1,20}(\.[a-z0-9-]{1,20}){1,3}", fullmatch=True)
_PATH = st.from_regex(r"(/[A-Za-z0-9._~%!$&'()*+,;=:@-]{0,20}){0,4}", fullmatch=True)


@given(st.sampled_from(["https", "http", "HTTPS"]), _HOST, _PATH)
def test_real_web_addresses_pass(scheme, host, path):
    assert url_problem(f"{scheme}://{host}{path}") is None


@given(st.text(max_size=80))
def test_whatever_passes_is_an_http_link_on_one_line(value):
    if url_problem(value) is None and value:
        assert value.lower().startswith(("https://", "http://"))
        assert not any(c.isspace() for c in value) and "\x00" not in value


@given(st.text(max_size=80))
def test_the_form_validator_and_the_api_field_agree(value):
    class LinkForm(Form):
        link = StringField(validators=[WebAddress()])

    class LinkSchema(Schema):
        link = api_fields.WebAddress()

    form = LinkForm(data={"link": value})
    form_ok = form.validate()
    try:
        LinkSchema().load({"link": value})
        api_ok = True
    except ValidationError:
        api_ok = False
    assert form_ok == api_ok, (form.errors, value)
