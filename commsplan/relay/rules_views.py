"""Pages for the mapping rules under /relay/rules: list, add, change, remove.

``GET /relay/rules/new?pattern=TEXT&next=/relay/items/ID`` fills in the pattern and goes
back to ``next`` (a path on this site) after saving: how an unmapped item gets its rule
in one step.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from commsplan.auth.guard import may
from commsplan.extensions import db
from commsplan.inputs import parse_id, text_problem
from commsplan.redirects import local_path
from commsplan.relay import rules_services as services
from commsplan.relay.rules import MappingRule
from commsplan.relay.rules_forms import RuleFilterForm, RuleForm
from commsplan.removal import confirm_removal

bp = Blueprint("relay_rules", __name__, url_prefix="/relay/rules")


@bp.context_processor
def helpers() -> dict[str, object]:
    return {"can_edit": may("relay_rules.rule_create")}


def _next_url() -> str:
    return local_path(request.values.get("next"), url_for("relay_rules.rule_list"))


def _data(form: RuleForm) -> services.RuleData:
    return services.RuleData(
        pattern=form.pattern.data or "",
        service_id=form.service_id.data,
        system_id=form.system_id.data,
        note=form.note.data or "",
    )


@bp.get("/")
def rule_list() -> tuple[str, int]:
    filters = RuleFilterForm(formdata=request.args)
    valid = filters.validate()
    page = services.search_rules(
        db.session,
        (filters.q.data or "") if valid else "",
        page=request.args.get("page", 1, type=parse_id),
        per_page=current_app.config["PAGE_SIZE"],
    )
    query = {key: value for key, value in request.args.items() if key != "page" and value}
    page_html = render_template(
        "relay/rules/list.html", page=page, filters=filters, query=query, filtered=bool(query)
    )
    return page_html, (200 if valid else 400)


def _form_page(form: RuleForm, title: str, status: int = 200) -> tuple[str, int]:
    page = render_template("relay/rules/form.html", form=form, title=title, cancel_url=_next_url())
    return page, status


@bp.route("/new", methods=["GET", "POST"])
def rule_create() -> Response | tuple[str, int]:
    form = RuleForm()
    form.fill_choices(db.session)
    if request.method == "GET":
        pattern = request.args.get("pattern", "")
        if not text_problem(pattern):
            form.pattern.data = " ".join(pattern.split())[:200]
        form.next.data = _next_url()
    saved = _save(
        form, lambda: services.create_rule(db.session, _data(form), current_user), _("Regeln är sparad.")
    )
    if saved is not None:
        return saved
    return _form_page(form, _("Ny mappningsregel"), 422 if request.method == "POST" else 200)


@bp.route("/<int:rule_id>/edit", methods=["GET", "POST"])
def rule_edit(rule_id: int) -> Response | tuple[str, int]:
    rule = db.get_or_404(MappingRule, rule_id)
    form = RuleForm(obj=rule)
    form.fill_choices(db.session)
    if request.method == "GET":
        form.next.data = _next_url()
    saved = _save(form, lambda: services.update_rule(db.session, rule, _data(form)), _("Regeln är ändrad."))
    if saved is not None:
        return saved
    return _form_page(form, _("Ändra mappningsregel"), 422 if request.method == "POST" else 200)


def _save(form: RuleForm, save: Callable[[], object], done: str) -> Response | None:
    """On a valid POST: ``save()``, commit, say ``done`` and go back; None when the form
    is to be shown again (a rule the service refuses gets its reason on the pattern)."""
    if not form.validate_on_submit():
        return None
    try:
        save()
    except services.RuleError as error:
        form.pattern.errors = [*form.pattern.errors, str(error)]
        return None
    db.session.commit()
    flash(done, "success")
    return redirect(_next_url())


@bp.route("/<int:rule_id>/delete", methods=["GET", "POST"])
def rule_delete(rule_id: int) -> Response | str:
    rule = db.get_or_404(MappingRule, rule_id)
    return confirm_removal(
        title=_("Ta bort regeln ”%(pattern)s”?", pattern=rule.pattern),
        cancel_url=url_for("relay_rules.rule_list"),
        remove=lambda: services.delete_rule(db.session, rule),
        done=_("Regeln är borttagen."),
        next_url=url_for("relay_rules.rule_list"),
    )
