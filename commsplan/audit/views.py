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
from commsplan.i18n import TranslatedLabels
from commsplan.inputs import parse_int, text_problem

bp = Blueprint("audit", __name__, url_prefix="/admin/history")

# In a sentence: "Kim ändrade (title)".
ACTION_LABELS = {
    "created": _l("skapade"),
    "changed": _l("ändrade"),
    "deleted": _l("tog bort"),
    "published": _l("publicerade"),
    "sent": _l("skickade"),
}

# On their own (filter, table column): never the stored code.
EVENT_LABELS = {
    "created": _l("Skapat"),
    "changed": _l("Ändrat"),
    "deleted": _l("Borttaget"),
    "published": _l("Publicerat"),
    "sent": _l("Skickat"),
}

# What the coordinator calls the objects the history names (the stored table names).
OBJECT_LABELS = {
    "activity": _l("Aktivitet"),
    "notice": _l("Meddelande"),
    "checklist_template": _l("Checklista"),
    "template_question": _l("Checklistfråga"),
    "contact": _l("Kontakt"),
    "stakeholder_group": _l("Intressentgrupp"),
    "information_need": _l("Informationsbehov"),
    "unit": _l("Enhet"),
    "recipient": _l("Mottagare av information"),
    "channel": _l("Kanal"),
    "service": _l("E-tjänst"),
    "system": _l("System"),
    "responsibility": _l("Rad i ansvarstabellen"),
    "dependency": _l("Beroende"),
    "collaboration": _l("Samverkansform"),
    "plan": _l("Planen"),
    "goal": _l("Kommunikationsmål"),
    "guideline": _l("Riktlinje"),
    "meeting_series": _l("Mötesserie"),
    "occurrence": _l("Mötestillfälle"),
    "agenda_item": _l("Punkt på dagordningen"),
    "registration": _l("Anmälan"),
    "user_account": _l("Konto"),
    "api_token": _l("API-token"),
    "feed_token": _l("Kalenderlänk"),
    "invitation": _l("Inbjudan"),
    "subscription": _l("Prenumeration"),
    "unsubscribe": _l("Avregistrering"),
}


def object_label(object_type: str) -> str:
    label = OBJECT_LABELS.get(object_type)
    return str(label) if label is not None else _("Annat (%(name)s)", name=object_type)


@bp.app_context_processor
def audit_labels() -> dict[str, object]:
    return {
        "AUDIT_ACTION_LABELS": TranslatedLabels(ACTION_LABELS),
        "AUDIT_EVENT_LABELS": TranslatedLabels(EVENT_LABELS),
        "audit_object_label": object_label,
    }


def history_for(obj: Any) -> list[Any]:
    """The history of one object, newest first (for the object's own page)."""
    return services.for_object(db.session, obj.__table__.name, obj.id)


@bp.get("/")
@role_required(Role.admin)
def history():
    text = (request.args.get("q") or "").strip()[:200]
    object_type = request.args.get("type") or ""
    action = request.args.get("action") or ""
    for value in (text, object_type):
        if problem := text_problem(value):
            abort(400, problem)
    if action and action not in services.ACTIONS:
        abort(400, _("Okänt filter."))
    page = request.args.get("page", 1, type=parse_int) or 1
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
