"""Property-based tests on the forms people type into: whatever is sent, the answer is
never a server error, and an answer that refuses the input (4xx) stores nothing."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from commsplan.auth.models import Role
from commsplan.notices.models import Notice, NoticeKind
from commsplan.plan.models import Contact, Service

SETTINGS = settings(
    max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# Text as browsers and scripts send it: any Unicode (also NUL and line breaks), very long strings.
TEXT = st.one_of(st.text(max_size=300), st.just("a" * 25_000), st.just("x\x00y"), st.just("=1+2\r\n"))
NUMBER = st.one_of(st.integers(min_value=-(10**30), max_value=10**30).map(str), st.just("2.5"), TEXT)
DATETIME = st.one_of(
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M")), st.just("0001-01-01T00:00"), TEXT
)


def _count(session: Any, model: Any) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def _check(client: Any, session: Any, model: Any, url: str, data: dict[str, Any]) -> None:
    before = _count(session, model)
    response = client.post(url, data=data)
    assert response.status_code < 500, (data, response.status_code)
    if response.status_code >= 400:
        assert _count(session, model) == before, data
    session.rollback()


def test_notice_form_never_fails_and_stores_nothing_it_refuses(client, auth, session):
    auth.login(Role.coordinator)
    session.add(Service(name="Journalen"))
    session.commit()
    service_id = str(session.scalars(select(Service.id)).one())

    @SETTINGS
    @given(
        kind=st.one_of(st.sampled_from([k.value for k in NoticeKind]), TEXT),
        title=TEXT,
        body=TEXT,
        services=st.lists(st.one_of(st.just(service_id), NUMBER), max_size=3),
        starts_at=DATETIME,
        ends_at=DATETIME,
        reminder=NUMBER,
        severity=st.one_of(st.sampled_from(["low", "medium", "high", "critical", ""]), TEXT),
        release_date=st.one_of(st.dates().map(str), TEXT),
    )
    def post(kind, title, body, services, starts_at, ends_at, reminder, severity, release_date):  # type: ignore[no-untyped-def]
        data = {
            "kind": kind,
            "title": title,
            "body_markdown": body,
            "services": services,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "reminder_minutes": reminder,
            "severity": severity,
            "release_date": release_date,
        }
        _check(client, session, Notice, "/notices/new", data)

    post()


def test_contact_form_never_fails_and_stores_nothing_it_refuses(client, auth, session):
    auth.login(Role.coordinator)

    @SETTINGS
    @given(
        name=TEXT,
        email=st.one_of(st.emails().map(str), TEXT),
        phone=TEXT,
        role=TEXT,
        unit=NUMBER,
        groups=st.lists(NUMBER, max_size=3),
        language=st.one_of(st.sampled_from(["sv", "en"]), TEXT),
    )
    def post(name, email, phone, role, unit, groups, language):  # type: ignore[no-untyped-def]
        data = {
            "name": name,
            "email": email,
            "phone": phone,
            "role": role,
            "unit_id": unit,
            "group_ids": groups,
            "language": language,
        }
        _check(client, session, Contact, "/plan/contacts/new", data)

    post()


def test_a_309_digit_number_in_a_range_checked_field_is_refused_not_a_500(client, auth, session):
    auth.login(Role.coordinator)
    data = {"kind": "service_window", "title": "Servicefönster", "reminder_minutes": "9" * 309}
    _check(client, session, Notice, "/notices/new", data)
