"""The plan as a document (``/plan``, ``/plan.md``) and the pages that edit the plan itself."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm

from commsplan.auth.guard import may, role_required
from commsplan.auth.models import Role
from commsplan.extensions import db
from commsplan.forms import ConfirmForm
from commsplan.integrity import services as impact
from commsplan.plan import document_services as services
from commsplan.plan.document import build_document, registered_sections, to_markdown
from commsplan.plan.document_forms import (
    CollaborationForm,
    GoalForm,
    GuidelineForm,
    PlanForm,
)
from commsplan.plan.models import Collaboration, Goal, Guideline
from commsplan.plan.services import current_plan
from commsplan.plan.views import bp

# Where a coordinator changes what each section of the document shows.
_SECTION_EDITORS: dict[str, list[tuple[str, dict[str, str], LazyString]]] = {
    "syfte": [("plan.document_edit", {}, _l("Ändra texten"))],
    "intressenter": [("plan.stakeholder_list", {}, _l("Ändra intressenter"))],
    "riktlinjer": [("plan.document_items", {"kind": "guidelines"}, _l("Ändra riktlinjer"))],
    "mal": [("plan.document_items", {"kind": "goals"}, _l("Ändra mål"))],
    "kanaler": [("plan.channel_list", {}, _l("Ändra kanaler"))],
    "mottagare": [("plan.recipient_list", {}, _l("Ändra mottagare"))],
    "ansvar": [("plan.service_list", {}, _l("Ändra e-tjänster och ansvar"))],
    "spridning": [("plan.document_edit", {}, _l("Ändra texten"))],
    "samverkan": [
        ("plan.document_items", {"kind": "collaborations"}, _l("Ändra samverkan")),
        ("plan.dependency_list", {}, _l("Ändra beroenden")),
    ],
    # The checklist section comes from the activities' checklist template (one source).
    "checklista": [("activities.template_list", {}, _l("Ändra frågor"))],
}


def _can_edit() -> bool:
    return may("plan.document_edit")


def _edit_links() -> dict[str, list[tuple[str, str]]]:
    if not _can_edit():
        return {}
    return {
        anchor: [
            (str(label), url_for(endpoint, **args))
            for endpoint, args, label in editors
            if endpoint in current_app.view_functions
        ]
        for anchor, editors in _SECTION_EDITORS.items()
    }


@bp.get("/plan")
def document():
    plan = current_plan(db.session)
    if plan is None:
        return render_template("plan/document_empty.html", can_edit=_can_edit())
    return render_template(
        "plan/document.html",
        doc=build_document(db.session, plan, registered_sections(current_app)),
        can_edit=_can_edit(),
        edit_links=_edit_links(),
    )


def _filename(region: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", region).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return f"kommunikationsplan-{slug or 'region'}.md"


@bp.get("/plan.md")
def document_markdown():
    plan = current_plan(db.session)
    if plan is None:
        abort(404, description=_("Det finns ingen plan att ladda ner ännu."))
    response = Response(
        to_markdown(build_document(db.session, plan, registered_sections(current_app))),
        mimetype="text/markdown",
    )
    response.headers["Content-Type"] = "text/markdown; charset=utf-8"
    response.headers.set("Content-Disposition", "attachment", filename=_filename(plan.region))
    return response


@bp.route("/plan/edit", methods=["GET", "POST"])
@role_required(Role.coordinator)
def document_edit():
    plan = current_plan(db.session)
    form = PlanForm(obj=plan)
    if form.validate_on_submit():
        services.save_plan(db.session, {name: form[name].data for name in services.PLAN_FIELDS})
        db.session.commit()
        flash(_("Planen är sparad.") if plan else _("Planen är skapad."), "success")
        return redirect(url_for("plan.document"))
    status = 400 if request.method == "POST" else 200
    return render_template("plan/document_edit.html", form=form, plan=plan), status


@dataclass(frozen=True)
class ItemKind:
    """One editable list of the plan: which model, form and words it uses."""

    model: type[services.PlanItem]
    form: type[FlaskForm]
    title: LazyString
    singular: LazyString
    columns: tuple[tuple[str, LazyString], ...]
    document_anchor: str


# Spelled out in the URL rule so the entity pages' /plan/<entity> routes never collide.
_KIND = "<any(goals, guidelines, collaborations):kind>"

KINDS: dict[str, ItemKind] = {
    "goals": ItemKind(Goal, GoalForm, _l("Kommunikationsmål"), _l("mål"), (("text", _l("Mål")),), "mal"),
    "guidelines": ItemKind(
        Guideline,
        GuidelineForm,
        _l("Riktlinjer"),
        _l("riktlinje"),
        (("title", _l("Riktlinje")), ("url", _l("Länk"))),
        "riktlinjer",
    ),
    "collaborations": ItemKind(
        Collaboration,
        CollaborationForm,
        _l("Samverkan och mötesrytm"),
        _l("samverkan"),
        (("name", _l("Samverkan")), ("cadence", _l("Hur ofta")), ("participants", _l("Med vilka"))),
        "samverkan",
    ),
}


def _kind(kind: str) -> ItemKind:
    if kind not in KINDS:
        abort(404)
    return KINDS[kind]


def _item(config: ItemKind, item_id: int) -> services.PlanItem:
    item = services.get_item(db.session, config.model, item_id)
    if item is None:
        abort(404)
    return item


def _form_data(form: FlaskForm, config: ItemKind) -> dict[str, str]:
    return {name: form[name].data or "" for name, _label in config.columns}


def _needs_plan(config: ItemKind) -> bool:
    return config.model is not Collaboration and current_plan(db.session) is None


@bp.get(f"/plan/{_KIND}/")
@role_required(Role.coordinator)
def document_items(kind: str):
    config = _kind(kind)
    if _needs_plan(config):
        flash(_("Skapa planen först."), "info")
        return redirect(url_for("plan.document_edit"))
    items = services.list_items(db.session, config.model)
    return render_template(
        "plan/document_items.html", kind=kind, config=config, items=items, move_form=ConfirmForm()
    )


def _item_form_page(
    kind: str,
    config: ItemKind,
    form: FlaskForm,
    item: services.PlanItem | None,
    save: Callable[[], object],
    done: str,
) -> tuple[str, int] | Response:
    """Add or edit one goal/guideline/question/collaboration, or show the form again with 400."""
    if form.validate_on_submit():
        try:
            save()
        except services.DuplicateName:
            db.session.rollback()
            form.name.errors.append(_("Det finns redan en samverkan med det namnet."))
        else:
            db.session.commit()
            flash(done, "success")
            return redirect(url_for("plan.document_items", kind=kind))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "plan/document_item_form.html", kind=kind, config=config, form=form, item=item
    ), status


@bp.route(f"/plan/{_KIND}/new", methods=["GET", "POST"])
@role_required(Role.coordinator)
def document_item_new(kind: str):
    config = _kind(kind)
    if _needs_plan(config):
        flash(_("Skapa planen först."), "info")
        return redirect(url_for("plan.document_edit"))
    form = config.form()
    return _item_form_page(
        kind,
        config,
        form,
        None,
        lambda: services.add_item(db.session, config.model, _form_data(form, config)),
        _("Sparat."),
    )


@bp.route(f"/plan/{_KIND}/<int:item_id>/edit", methods=["GET", "POST"])
@role_required(Role.coordinator)
def document_item_edit(kind: str, item_id: int):
    config = _kind(kind)
    item = _item(config, item_id)
    form = config.form(obj=item)
    return _item_form_page(
        kind,
        config,
        form,
        item,
        lambda: services.update_item(db.session, item, _form_data(form, config)),
        _("Ändringen är sparad."),
    )


@bp.route(f"/plan/{_KIND}/<int:item_id>/delete", methods=["GET", "POST"])
@role_required(Role.coordinator)
def document_item_delete(kind: str, item_id: int):
    config = _kind(kind)
    item = _item(config, item_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        services.delete_item(db.session, item)
        db.session.commit()
        flash(_("Borttaget."), "success")
        return redirect(url_for("plan.document_items", kind=kind))
    name = getattr(item, config.columns[0][0])
    # The same confirmation page as every other plan row (nothing refers to these today).
    return render_template(
        "plan/crud/delete.html",
        title=_("Ta bort %(what)s: %(name)s", what=config.singular, name=_shorten(name)),
        impact=impact.impact_of(db.session, item),
        effect=impact.Effect,
        cancel_url=url_for("plan.document_items", kind=kind),
        form=form,
    )


def _shorten(text: str, length: int = 80) -> str:
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


@bp.post(f"/plan/{_KIND}/<int:item_id>/move/<any(up, down):direction>")
def document_item_move(kind: str, item_id: int, direction: str):
    config = _kind(kind)
    item = _item(config, item_id)
    if ConfirmForm().validate_on_submit() and services.move_item(db.session, item, direction):  # type: ignore[arg-type]
        db.session.commit()
    return redirect(url_for("plan.document_items", kind=kind) + f"#item-{item.id}")
