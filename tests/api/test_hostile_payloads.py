"""Hostile API payloads answer 4xx with a Swedish message and store nothing (issue 10,
point 4): NUL bytes, integers beyond the database's column, fractions and far-off dates."""

from __future__ import annotations

import json

import marshmallow as ma
import pytest
from marshmallow import fields as ma_fields
from sqlalchemy import func, select

from commsplan.api import fields
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
        for inner in field.schema.fields.values():
            yield from _leaf_fields(inner)
    else:
        yield field


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _argument_schemas(app):
    """Every schema a view of the app reads its input with (``@bp.arguments``), whichever
    blueprint registered it with the API document."""
    for function in app.view_functions.values():
        for parameter in getattr(function, "_apidoc", {}).get("arguments", {}).get("parameters", []):
            schema = parameter["schema"]
            yield schema if isinstance(schema, type) else type(schema)


OURS = (
    fields.Text,
    fields.WholeNumber,
    fields.Date,
    fields.AwareDateTime,
    ma_fields.Enum,
    ma_fields.Boolean,
)


def _raw_fields(schema):
    return [
        (schema.__name__, name, type(leaf).__name__)
        for name, field in schema().fields.items()
        for leaf in _leaf_fields(field)
        if not isinstance(leaf, OURS)
    ]


def test_every_input_field_goes_through_the_shared_checks(app):
    """One layer: every schema the API reads (any blueprint's ``@bp.arguments``, and every
    ``InputSchema``) is strict and uses only commsplan.api.fields (or enums and booleans),
    so a new schema with a raw marshmallow field fails here."""
    arguments = set(_argument_schemas(app))
    names = {schema.__name__ for schema in arguments}
    assert {"NoticeInSchema", "DeliveryQuerySchema", "ActivityInSchema", "ActivityListQuerySchema"} <= names
    assert [s.__name__ for s in arguments if not issubclass(s, fields.InputSchema)] == []
    declared = {s for s in _subclasses(fields.InputSchema) if s.__module__.startswith("commsplan.")}
    schemas = arguments | declared
    assert [problem for schema in schemas for problem in _raw_fields(schema)] == []


def test_the_check_finds_a_raw_field_nested_in_a_list():
    inner = type("Inner", (ma.Schema,), {"text": ma_fields.String()})
    sneaky = type("Sneaky", (ma.Schema,), {"notes": ma_fields.List(ma_fields.Nested(inner))})
    assert _raw_fields(sneaky) == [("Sneaky", "notes", "String")]
