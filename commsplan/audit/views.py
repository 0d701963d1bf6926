"""The history page for admins, and the per-object history templates include."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from commsplan.audit import services
from commsplan.auth.guard import role_required
from commsplan.auth.models import Role
from commsplan.extensions import db

bp = Blueprint("audit", __name__, url_prefix="/admin/history")

ACTION_LABELS = {
    "created": _l("skapade"),
    "changed": _l("ändrade"),
    "deleted": _l("tog bort"),
    "published": _l("publicerade"),
    "sent": _l("skickade"),
}


@bp.app_context_processor
def audit_labels() -> dict[str, object]:
    return {"AUDIT_ACTION_LABELS": ACTION_LABELS}


def history_for(obj: Any) -> list[Any]:
    """The history of one object, newest first (for the object's own page)."""
    return services.for_object(db.session, obj.__table__.name, obj.id)


@bp.get("/")
@role_required(Role.admin)
def history():
    text = (request.args.get("q") or "").strip()[:200]
    object_type = request.args.get("type") or ""
    action = request.args.get("action") or ""
    if action and action not in services.ACTIONS:
        abort(400, _("Okänt filter."))
    page = request.args.get("page", 1, type=int) or 1
    if page < 1:
        abort(400, _("Okänt filter."))
    size = int(current_app.config["PAGE_SIZE"])
    rows, total = services.search(db.session, text, object_type, action, limit=size, offset=(page - 1) * size)
    return render_template(
        "audit/history.html",
        rows=rows,
        total=total,
        page=page,
        pages=max((total + size - 1) // size, 1),
        q=text,
        object_type=object_type,
        action=action,
        types=services.object_types(db.session),
        retention=current_app.config["AUDIT_RETENTION_DAYS"],
    )
