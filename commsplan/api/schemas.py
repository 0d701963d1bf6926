"""Marshmallow schemas: they validate the API's input and generate its OpenAPI document."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from commsplan.api.fields import AwareDateTime, Date, Id, InputSchema, Text, WholeNumber
from commsplan.notices.models import NoticeKind, NoticeStatus, OutageState, Severity, UpdateKind
from commsplan.timeutil import STOCKHOLM


def _when(description: str) -> AwareDateTime:
    return AwareDateTime(
        default_timezone=STOCKHOLM,
        allow_none=True,
        metadata={"description": description + " (ISO 8601; without offset: Swedish time)"},
    )


class NoticeInSchema(InputSchema):
    kind = fields.Enum(NoticeKind, by_value=True, required=True)
    title = Text(required=True, validate=validate.Length(min=1, max=200))
    body = Text(load_default="", validate=validate.Length(max=20000), metadata={"description": "Markdown"})
    title_en = Text(
        load_default="",
        validate=validate.Length(max=200),
        metadata={"description": "Optional English title, sent to contacts whose language is English"},
    )
    body_en = Text(
        load_default="",
        validate=validate.Length(max=20000),
        metadata={"description": "Optional English body (Markdown), sent to English-speaking contacts"},
    )
    severity = fields.Enum(Severity, by_value=True, allow_none=True, load_default=None)
    outage_state = fields.Enum(OutageState, by_value=True, allow_none=True, load_default=None)
    starts_at = _when("Start of the service window or outage")
    ends_at = _when("End")
    release_date = Date(allow_none=True, load_default=None)
    version = Text(load_default="", validate=validate.Length(max=100))
    changes_for_staff = Text(load_default="", validate=validate.Length(max=10000))
    changes_for_residents = Text(load_default="", validate=validate.Length(max=10000))
    reminder_minutes = WholeNumber(allow_none=True, load_default=None, low=0)
    service_ids = fields.List(Id(), load_default=list)
    system_ids = fields.List(Id(), load_default=list)
    service_names = fields.List(
        Text(), load_default=list, metadata={"description": "E-services by name, e.g. Journalen"}
    )
    system_names = fields.List(Text(), load_default=list, metadata={"description": "Systems by name"})
    group_ids = fields.List(Id(), load_default=list)


class NoticeListQuerySchema(InputSchema):
    kind = fields.Enum(NoticeKind, by_value=True, load_default=None)
    status = fields.Enum(NoticeStatus, by_value=True, load_default=None)
    limit = WholeNumber(load_default=100, low=1, high=500)


class UpdateInSchema(InputSchema):
    body = Text(load_default="", validate=validate.Length(max=20000), metadata={"description": "Markdown"})
    outage_state = fields.Enum(OutageState, by_value=True, allow_none=True, load_default=None)


class FinishInSchema(InputSchema):
    body = Text(load_default="", validate=validate.Length(max=20000))


class CloseInSchema(FinishInSchema):
    ended_at = _when("When an outage really ended (default: now; not in the future, not before its start)")


class NamedSchema(ma.Schema):
    id = fields.Integer()
    name = fields.String()


class UpdateOutSchema(ma.Schema):
    id = fields.Integer()
    kind = fields.Enum(UpdateKind, by_value=True)
    body = fields.String(attribute="body_markdown")
    outage_state = fields.Enum(OutageState, by_value=True, allow_none=True)
    author = fields.String(attribute="author_name")
    sent = fields.Boolean()
    recipient_count = fields.Integer()
    created_at = fields.AwareDateTime()


class NoticeOutSchema(ma.Schema):
    id = fields.Integer()
    uid = fields.String()
    kind = fields.Enum(NoticeKind, by_value=True)
    status = fields.Enum(NoticeStatus, by_value=True)
    title = fields.String()
    body = fields.String(attribute="body_markdown")
    title_en = fields.String()
    body_en = fields.String(attribute="body_markdown_en")
    severity = fields.Enum(Severity, by_value=True, allow_none=True)
    outage_state = fields.Enum(OutageState, by_value=True, allow_none=True)
    starts_at = fields.AwareDateTime(allow_none=True)
    ends_at = fields.AwareDateTime(allow_none=True)
    release_date = fields.Date(allow_none=True)
    version = fields.String()
    changes_for_staff = fields.String()
    changes_for_residents = fields.String()
    sequence = fields.Integer()
    services = fields.List(fields.Nested(NamedSchema))
    systems = fields.List(fields.Nested(NamedSchema))
    published_at = fields.AwareDateTime(allow_none=True)
    closed_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    updates = fields.List(fields.Nested(UpdateOutSchema))


class RecipientOutSchema(ma.Schema):
    email = fields.String()
    name = fields.String()
    reasons = fields.List(fields.String())
    included = fields.Boolean()
    excluded_reason = fields.String()


class PublishOutSchema(ma.Schema):
    notice = fields.Nested(NoticeOutSchema)
    recipient_count = fields.Integer()
    recipients = fields.List(fields.Nested(RecipientOutSchema))


class DeliveryQuerySchema(InputSchema):
    page = WholeNumber(
        load_default=1, low=1, high=1_000_000, metadata={"description": "Page of `failures`, from 1"}
    )
    per_page = WholeNumber(load_default=50, low=1, high=500)


class DeliveryFailureSchema(ma.Schema):
    address = fields.String(attribute="to_address")
    name = fields.String(attribute="to_name")
    answer = fields.String(
        attribute="last_error", metadata={"description": "The mail server's answer, e.g. `550 5.1.1 …`"}
    )
    attempts = fields.Integer()


class DeliveryCountsSchema(ma.Schema):
    queued = fields.Integer()
    sending = fields.Integer()
    retrying = fields.Integer()
    sent = fields.Integer()
    failed = fields.Integer()
    cancelled = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    failures = fields.List(
        fields.Nested(DeliveryFailureSchema),
        metadata={"description": "Failed addresses, `per_page` at a time; `failed` counts them all"},
    )
