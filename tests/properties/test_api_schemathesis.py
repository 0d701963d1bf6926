"""Schemathesis against /api/v1/openapi.json with the app in-process (WSGI) and a
coordinator's bearer token: no server error and every response as the document says."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from commsplan.api import services as token_services
from commsplan.auth.models import Role
from commsplan.notices import services as notice_services
from commsplan.notices.models import NoticeKind
from tests import factories
from tests.notices.helpers import make_notice


@pytest.fixture
def api(app, session):  # type: ignore[no-untyped-def]
    user = factories.make_user(session, email="api@example.org", role=Role.coordinator)
    _row, token = token_services.create_token(session, user, "schemathesis")
    # A few notices, so ids 1–3 exist and the generated calls reach past the 404s.
    for kind in (NoticeKind.outage, NoticeKind.general):
        notice_services.publish(session, make_notice(session, kind), None)
    make_notice(session, NoticeKind.release)
    session.commit()
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app), {"Authorization": f"Bearer {token}"}


def test_api_has_no_server_errors_and_answers_as_documented(api):  # type: ignore[no-untyped-def]
    schema, headers = api
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def check(case):  # type: ignore[no-untyped-def]
            response = case.call(headers=headers)
            try:
                case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
            except AssertionError as error:  # schemathesis' FailureGroup: keep going, report all
                failures.append(f"{case.method} {case.formatted_path}: {str(error).strip()[:400]}")

        check()
    assert failures == [], "\n".join(sorted(set(failures)))
