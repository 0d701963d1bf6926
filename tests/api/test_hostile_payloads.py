"""Hostile API payloads answer 4xx with a Swedish message and store nothing (issue 10,
point 4): NUL bytes, integers beyond the database's column, fractions and far-off dates."""

from __future__ import annotations

import json

import pytest
from marshmallow import fields as ma_fields
from sqlalchemy import func, select

from commsplan.api import fields, schemas
from commsplan.auth.models import Role
from commsplan.notices.models import Notice
from tests.api.test_api import OUTAGE, _h, _token

WINDOW = {
    "kind": "service_window",
    "title": "Servicefönster",
    "starts_at": "2030-01-01T10:00:00Z",
    "ends_at": "2030-01-01T12:00:00Z",
}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({**OUTAGE, "title": "Journalen\x00nere"}, "title"),
        ({**OUTAGE, "body": "a\x00b"}, "body"),
        ({**OUTAGE, "service_names": ["Journalen\x00"]}, "service_names"),
        ({**WINDOW, "reminder_minutes": 2.5}, "reminder_minutes"),
        ({**WINDOW, "reminder_minutes": 2.0}, "reminder_minutes"),
        ({**WINDOW, "reminder_minutes": True}, "reminder_minutes"),
        ({**WINDOW, "reminder_minutes": 2**31}, "reminder_minutes"),
        ({**OUTAGE, "service_ids": [2**31]}, "service_ids"),
        ({**OUTAGE, "group_ids": [9223372036854775808]}, "group_ids"),
        ({**WINDOW, "ends_at": "9999-12-31T23:59:59Z"}, "ends_at"),
        ({**WINDOW, "starts_at": "0001-01-01T00:00:00Z"}, "starts_at"),
        ({"kind": "release", "title": "R", "release_date": "9999-12-31"}, "release_date"),
    ],
)
def test_hostile_values_are_422_and_store_nothing(client, session, payload, field):
    token = _token(session)
    response = client.post("/api/v1/notices", json=payload, headers=_h(token))
    assert response.status_code == 422, response.json
    assert field in response.json["message"]
    assert session.scalar(select(func.count()).select_from(Notice)) == 0


def test_a_309_digit_number_is_refused(client, session):
    token = _token(session)
    body = json.dumps(WINDOW)[:-1] + ', "reminder_minutes": ' + "9" * 309 + "}"
    response = client.post(
        "/api/v1/notices", data=body, headers=_h(token) | {"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert "heltal" in response.json["message"]
    assert session.scalar(select(func.count()).select_from(Notice)) == 0


def test_query_and_path_numbers_beyond_the_column(client, session):
    token = _token(session, Role.viewer)
    assert client.get("/api/v1/notices?limit=2.5", headers=_h(token)).status_code == 422
    assert client.get("/api/v1/notices?limit=" + "9" * 309, headers=_h(token)).status_code == 422
    assert client.get(f"/api/v1/notices/{2**31}", headers=_h(token)).status_code == 404
    assert client.get("/api/v1/notices/9223372036854775808", headers=_h(token)).status_code == 404


def _leaf_fields(field):
    if isinstance(field, ma_fields.List):
        yield from _leaf_fields(field.inner)
    elif isinstance(field, ma_fields.Nested):
        yield from field.schema.fields.values()
    else:
        yield field


def test_every_input_field_goes_through_the_shared_checks():
    """One layer: input schemas use only commsplan.api.fields (or enums and booleans)."""
    ours = (
        fields.Text,
        fields.WholeNumber,
        fields.Date,
        fields.AwareDateTime,
        ma_fields.Enum,
        ma_fields.Boolean,
    )
    inputs = [
        cls for cls in vars(schemas).values() if isinstance(cls, type) and issubclass(cls, schemas._Strict)
    ]
    assert len(inputs) >= 4
    for schema in inputs:
        for name, field in schema().fields.items():
            for leaf in _leaf_fields(field):
                assert isinstance(leaf, ours), (schema.__name__, name, type(leaf).__name__)
