"""HTTP API /api/v1/: notices for monitoring systems and scripts, with bearer tokens."""

from __future__ import annotations

from typing import Any

from flask import Blueprint as FlaskBlueprint
from flask import current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint, abort
from werkzeug.exceptions import HTTPException

from commsplan.api import schemas
from commsplan.api import services as token_services
from commsplan.api.forms import TokenForm
from commsplan.api.messages import translate
from commsplan.api.models import ApiToken
from commsplan.auth.guard import SAFE_METHODS, required_role_for, role_required
from commsplan.auth.models import Role, User
from commsplan.delivery import services as delivery
from commsplan.delivery.models import DeliveryState
from commsplan.extensions import db
from commsplan.forms import ConfirmForm
from commsplan.notices import services
from commsplan.notices.models import Notice
from commsplan.plan.models import Service, System

bp = Blueprint(
    "api",
    __name__,
    url_prefix="/api/v1",
    description="Meddelanden om releaser, servicefönster och driftstörningar.",
)


def _translated(errors: Any) -> Any:
    """The same nesting, with every library message in the request's language."""
    if isinstance(errors, dict):
        return {key: _translated(value) for key, value in errors.items()}
    if isinstance(errors, list):
        return [_translated(value) for value in errors]
    return translate(errors) if isinstance(errors, str) else errors


def _flatten(errors: Any, path: str = "") -> list[str]:
    if isinstance(errors, dict):
        out: list[str] = []
        for key, value in errors.items():
            # webargs nests field errors under the location ("json", "query").
            name = (
                path
                if key in ("json", "query", "_schema") and not path
                else (f"{path}.{key}" if path else str(key))
            )
            out += _flatten(value, name)
        return out
    if isinstance(errors, list) and all(isinstance(e, str) for e in errors):
        return [f"{path}: {' '.join(errors)}" if path else " ".join(errors)]
    if isinstance(errors, list):
        return [m for e in errors for m in _flatten(e, path)]
    return [f"{path}: {errors}" if path else str(errors)]


@bp.errorhandler(HTTPException)
def api_error(error: HTTPException):  # type: ignore[no-untyped-def]
    code = error.code or 500
    data = getattr(error, "data", None) or {}
    errors = _translated(data.get("errors") or data.get("messages"))
    if errors:
        message = "; ".join(_flatten(errors))
    elif data.get("message"):
        message = data["message"]
    elif error.description and error.description != type(error).description:
        message = error.description
    else:
        message = error.name
    body: dict[str, Any] = {"code": code, "status": error.name, "message": message}
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = code
    if code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="commsplan"'
    return response


@bp.before_request
def authenticate() -> None:
    """Every API request carries ``Authorization: Bearer <token>``; cookies never count,
    so the API needs no CSRF protection."""
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    user = None
    if scheme.lower() == "bearer" and token.strip():
        user = token_services.authenticate(db.session, token.strip())
    if user is None:
        abort(401, message=_("Saknad eller ogiltig token. Skicka Authorization: Bearer <token>."))
    view = current_app.view_functions.get(request.endpoint or "")
    required = required_role_for(view, request.method) if view else Role.viewer
    if required is not None and not user.has_role(required):
        abort(403, message=_("Token hör till ett konto som inte får göra det här."))
    g.api_user = user
    db.session.commit()  # last_used_at


def _api_user() -> User:
    return g.api_user


# Ids are 32-bit integers on PostgreSQL (and SQLite refuses Python ints beyond 64 bits):
# a larger id is a notice that cannot exist, not a database error.
MAX_ID = 2**31 - 1


def _notice(notice_id: int) -> Notice:
    notice = db.session.get(Notice, notice_id) if notice_id <= MAX_ID else None
    if notice is None:
        abort(404, message=_("Meddelande %(id)s finns inte.", id=notice_id))
    return notice


def _notice_error(error: services.NoticeError) -> None:
    db.session.rollback()
    field = error.field or "_schema"
    abort(422, message=f"{field}: {error}", errors={"json": {field: [str(error)]}})


def _data(payload: dict[str, Any]) -> services.NoticeData:
    service_ids = list(payload.get("service_ids", []))
    service_ids += services.ids_by_names(
        db.session, Service, payload.get("service_names", []), "service_names"
    )
    system_ids = list(payload.get("system_ids", []))
    system_ids += services.ids_by_names(db.session, System, payload.get("system_names", []), "system_names")
    return services.NoticeData(
        kind=payload["kind"],
        title=payload["title"],
        body_markdown=payload.get("body", ""),
        title_en=payload.get("title_en", ""),
        body_markdown_en=payload.get("body_en", ""),
        severity=payload.get("severity"),
        outage_state=payload.get("outage_state"),
        starts_at=payload.get("starts_at"),
        ends_at=payload.get("ends_at"),
        release_date=payload.get("release_date"),
        version=payload.get("version", ""),
        changes_for_staff=payload.get("changes_for_staff", ""),
        changes_for_residents=payload.get("changes_for_residents", ""),
        reminder_minutes=payload.get("reminder_minutes"),
        service_ids=list(dict.fromkeys(service_ids)),
        system_ids=list(dict.fromkeys(system_ids)),
        group_ids=payload.get("group_ids", []),
    )


@bp.get("/notices")
@bp.arguments(schemas.NoticeListQuerySchema, location="query", as_kwargs=True)
@bp.response(200, schemas.NoticeOutSchema(many=True))
def list_notices(kind: Any = None, status: Any = None, limit: int = 100):
    """List notices, newest first; filter by kind and status."""
    return services.list_notices(db.session, kind, status, limit)


@bp.post("/notices")
@bp.arguments(schemas.NoticeInSchema)
@bp.response(201, schemas.NoticeOutSchema)
def create_notice(payload: dict[str, Any]):
    """Create a draft notice. Affected services and systems by id or by name."""
    try:
        notice = services.create_draft(db.session, _data(payload), _api_user())
    except services.NoticeError as error:
        _notice_error(error)
    db.session.commit()
    return notice


@bp.get("/notices/<int:notice_id>")
@bp.response(200, schemas.NoticeOutSchema)
def get_notice(notice_id: int):
    """One notice with its timeline."""
    return _notice(notice_id)


@bp.get("/notices/<int:notice_id>/recipients")
@bp.response(200, schemas.RecipientOutSchema(many=True))
def notice_recipients(notice_id: int):
    """Who would receive the notice now, and why."""
    return services.recipients(db.session, _notice(notice_id))


@bp.post("/notices/<int:notice_id>/publish")
@bp.response(200, schemas.PublishOutSchema)
def publish_notice(notice_id: int):
    """Publish a draft to the computed recipients; the mail is queued in the same transaction."""
    notice = _notice(notice_id)
    people = [p for p in services.recipients(db.session, notice) if p.included]
    try:
        count = services.publish(db.session, notice, _api_user())
    except services.NoticeError as error:
        _notice_error(error)
    db.session.commit()
    return {"notice": notice, "recipient_count": count, "recipients": people}


@bp.post("/notices/<int:notice_id>/updates")
@bp.arguments(schemas.UpdateInSchema)
@bp.response(201, schemas.UpdateOutSchema)
def post_update(payload: dict[str, Any], notice_id: int):
    """Post an update to a published notice; it is sent to the recipients."""
    notice = _notice(notice_id)
    try:
        update = services.post_update(
            db.session, notice, _api_user(), payload["body"], payload.get("outage_state")
        )
    except services.NoticeError as error:
        _notice_error(error)
    db.session.commit()
    return update


@bp.post("/notices/<int:notice_id>/close")
@bp.arguments(schemas.CloseInSchema)
@bp.response(200, schemas.NoticeOutSchema)
def close_notice(payload: dict[str, Any], notice_id: int):
    """Close a published notice (an outage becomes resolved); recipients are told."""
    notice = _notice(notice_id)
    try:
        services.close(db.session, notice, _api_user(), payload["body"], ended_at=payload.get("ended_at"))
    except services.NoticeError as error:
        _notice_error(error)
    db.session.commit()
    return notice


@bp.get("/notices/<int:notice_id>/delivery")
@bp.arguments(schemas.DeliveryQuerySchema, location="query", as_kwargs=True)
@bp.response(200, schemas.DeliveryCountsSchema)
def delivery_counts(notice_id: int, page: int = 1, per_page: int = 50):
    """How many mails about the notice are queued, sent, retrying or failed, and which
    addresses failed with the mail server's answer (paginated)."""
    notice = _notice(notice_id)
    counts = {state.value: n for state, n in delivery.counts_for(db.session, "notice", notice.id).items()}
    failures = delivery.items_for(
        db.session,
        "notice",
        notice.id,
        state=DeliveryState.failed,
        limit=per_page,
        offset=(page - 1) * per_page,
    )
    return {**counts, "page": page, "per_page": per_page, "failures": failures}


# --- token pages (session log-in, not the API) -----------------------------------------

tokens_bp = FlaskBlueprint("tokens", __name__, url_prefix="/account/tokens")


@tokens_bp.route("/", methods=["GET", "POST"])
@role_required(Role.viewer)
def token_list():
    """Your API tokens; admins see everyone's. POST creates one and shows it once."""
    form = TokenForm()
    new_token = None
    if request.method == "POST" and form.validate_on_submit():
        name = (form.name.data or "").strip()
        _row, new_token = token_services.create_token(db.session, current_user, name)
        db.session.commit()
    everyone = current_user.has_role(Role.admin)
    rows = token_services.tokens_of(db.session, None if everyone else current_user)
    status = 400 if form.errors else 200
    page = render_template("api/tokens.html", tokens=rows, form=form, new_token=new_token, everyone=everyone)
    return page, status


@tokens_bp.post("/<int:token_id>/revoke")
@role_required(Role.viewer)
def revoke_token(token_id: int):
    row = db.get_or_404(ApiToken, token_id)
    if row.user_id != current_user.id and not current_user.has_role(Role.admin):
        return render_template("errors/error.html", code=403, message=_("Det är inte din token.")), 403
    if ConfirmForm().validate_on_submit():
        token_services.revoke(db.session, row)
        db.session.commit()
        flash(_("Token %(prefix)s… är återkallad.", prefix=row.prefix), "success")
    return redirect(url_for("tokens.token_list"))


__all__ = ["bp", "tokens_bp", "SAFE_METHODS"]
