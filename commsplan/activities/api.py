"""/api/v1/activities: a monitoring or release system prepares an activity and answers its
checklist, then publishes the linked notice through /api/v1/notices."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Flask, g
from flask_smorest import Blueprint, abort
from marshmallow import fields, validate
from werkzeug.exceptions import HTTPException

from commsplan.activities import services
from commsplan.activities.models import Activity, ActivityKind, ActivityStatus
from commsplan.api.fields import AwareDateTime, Id, InputSchema, Text, WholeNumber
from commsplan.api.views import api_error, authenticate
from commsplan.auth.guard import bearer_token
from commsplan.extensions import csrf, db
from commsplan.timeutil import STOCKHOLM

bp = Blueprint(
    "activities_api",
    __name__,
    url_prefix="/api/v1/activities",
    description="Kommunikationsaktiviteter och deras checklista.",
)
bp.before_request(authenticate)
bp.errorhandler(HTTPException)(api_error)


class GroupInSchema(InputSchema):
    group_id = Id(required=True)
    directly = fields.Boolean(load_default=True)
    core_message = Text(load_default="", validate=validate.Length(max=5000))
    channel_ids = fields.List(Id(), load_default=list)


class AnswerInSchema(InputSchema):
    question_id = Id(required=True)
    text = Text(load_default="", validate=validate.Length(max=5000))
    confirmed = fields.Boolean(load_default=False)


class ActivityInSchema(InputSchema):
    title = Text(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.Enum(ActivityKind, by_value=True, load_default=ActivityKind.general)
    template_id = Id(allow_none=True, load_default=None)
    information_value = fields.Boolean(allow_none=True, load_default=None)
    information_value_why = Text(load_default="", validate=validate.Length(max=5000))
    purpose = Text(load_default="", validate=validate.Length(max=5000))
    due_at = AwareDateTime(default_timezone=STOCKHOLM, allow_none=True, load_default=None)
    workdays_before = WholeNumber(allow_none=True, load_default=None, low=0, high=250)
    responsible_user_id = Id(allow_none=True, load_default=None)
    responsible_contact_id = Id(allow_none=True, load_default=None)
    occurrence_id = Id(allow_none=True, load_default=None)
    notice_ids = fields.List(Id(), load_default=list)
    groups = fields.List(fields.Nested(GroupInSchema), load_default=list)
    answers = fields.List(fields.Nested(AnswerInSchema), load_default=list)


class GroupOutSchema(ma.Schema):
    group_id = fields.Integer()
    group = fields.Function(lambda g: g.group.name)
    directly = fields.Boolean()
    core_message = fields.String()
    channels = fields.Function(lambda g: [c.name for c in g.channels])


class AnswerOutSchema(ma.Schema):
    question_id = fields.Integer(allow_none=True)
    question_text = fields.String(metadata={"description": "The wording the answer was given under"})
    text = fields.String()
    confirmed = fields.Boolean()


class ActivityOutSchema(ma.Schema):
    id = fields.Integer()
    title = fields.String()
    kind = fields.Enum(ActivityKind, by_value=True)
    status = fields.Enum(ActivityStatus, by_value=True)
    template_id = fields.Integer(allow_none=True)
    notice_ids = fields.Function(lambda a: [n.id for n in a.notices])
    groups = fields.List(fields.Nested(GroupOutSchema))
    answers = fields.List(fields.Nested(AnswerOutSchema))
    complete = fields.Function(lambda a: services.is_complete(a))
    missing = fields.Function(
        lambda a: services.missing_answers(a), metadata={"description": "Answers the checklist lacks"}
    )


class ActivityListQuerySchema(InputSchema):
    status = fields.Enum(ActivityStatus, by_value=True, load_default=None)
    kind = fields.Enum(ActivityKind, by_value=True, load_default=None)
    limit = WholeNumber(load_default=100, low=1, high=500)
    offset = WholeNumber(load_default=0, low=0)


class StatusInSchema(InputSchema):
    status = fields.Enum(ActivityStatus, by_value=True, required=True)
    reason = Text(load_default="", validate=validate.Length(max=2000))


def _data(payload: dict[str, Any]) -> services.ActivityData:
    answers = {a["question_id"]: (a["text"], a["confirmed"]) for a in payload.pop("answers")}
    groups = [services.GroupAnswer(**g) for g in payload.pop("groups")]
    return services.ActivityData(**payload, groups=groups, answers=answers)


def _activity(activity_id: int) -> Activity:
    activity = db.session.get(Activity, activity_id)
    if activity is None:
        abort(404, message=f"Aktivitet {activity_id} finns inte.")
    return activity


def _error(error: services.ActivityError) -> None:
    db.session.rollback()
    field = error.field or "_schema"
    abort(422, message=f"{field}: {error}", errors={"json": {field: [str(error)]}})


@bp.get("/")
@bearer_token
@bp.arguments(ActivityListQuerySchema, location="query", as_kwargs=True)
@bp.response(200, ActivityOutSchema(many=True))
def list_activities(status: Any = None, kind: Any = None, limit: int = 100, offset: int = 0):
    """Activities, most recently changed first; filter by status and kind."""
    return services.list_activities(db.session, status, kind, limit=limit, offset=offset)


@bp.get("/<int:activity_id>")
@bearer_token
@bp.response(200, ActivityOutSchema)
def get_activity(activity_id: int):
    """One activity, its answers and what its checklist still lacks."""
    return _activity(activity_id)


@bp.post("/")
@bearer_token
@bp.arguments(ActivityInSchema)
@bp.response(201, ActivityOutSchema)
def create_activity(payload: dict[str, Any]):
    """Create an activity (an idea) and answer as much of its checklist as is known."""
    try:
        activity = services.create_activity(db.session, _data(payload), g.api_user)
    except services.ActivityError as error:
        _error(error)
    db.session.commit()
    return activity


@bp.put("/<int:activity_id>")
@bearer_token
@bp.arguments(ActivityInSchema)
@bp.response(200, ActivityOutSchema)
def update_activity(payload: dict[str, Any], activity_id: int):
    """Replace the activity's fields and checklist answers."""
    activity = _activity(activity_id)
    try:
        services.update_activity(db.session, activity, _data(payload))
    except services.ActivityError as error:
        _error(error)
    db.session.commit()
    return activity


@bp.post("/<int:activity_id>/status")
@bearer_token
@bp.arguments(StatusInSchema)
@bp.response(200, ActivityOutSchema)
def change_status(payload: dict[str, Any], activity_id: int):
    """planned needs a complete checklist (422 names what is missing); dropped needs a reason."""
    activity = _activity(activity_id)
    try:
        services.set_status(db.session, activity, payload["status"], payload["reason"])
    except services.ActivityError as error:
        _error(error)
    db.session.commit()
    return activity


def init_api(app: Flask) -> None:
    api = app.extensions.get("commsplan_api")
    if api is None:
        return
    csrf.exempt(bp)
    api.register_blueprint(bp)
