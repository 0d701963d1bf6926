"""The accessibility statement and the privacy notice: public to read, admins edit."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from commsplan.auth.guard import public, role_required
from commsplan.auth.models import Role
from commsplan.extensions import db
from commsplan.notices.markup import render_markdown
from commsplan.pages import services
from commsplan.pages.forms import PublicPageForm
from commsplan.pages.models import PublicPageKind
from commsplan.plan.services import current_plan

bp = Blueprint("pages", __name__)

PAGE_LABELS = {
    PublicPageKind.accessibility: _l("tillgänglighetsredogörelsen"),
    PublicPageKind.privacy: _l("sidan om personuppgifter"),
}


@bp.context_processor
def labels() -> dict[str, object]:
    return {"page_label": lambda kind: str(PAGE_LABELS[kind])}


KINDS = "any(" + ", ".join(kind.value for kind in PublicPageKind) + ")"


def _context() -> dict[str, str]:
    plan = current_plan(db.session)
    return {
        "contact_email": current_app.config["CONTACT_EMAIL"],
        "organisation": plan.region if plan else _("Regionen"),
    }


def _language() -> str:
    locale = get_locale()
    return locale.language if locale else "sv"


def _show(kind: PublicPageKind):  # type: ignore[no-untyped-def]
    text = services.page_text(db.session, kind, _language(), **_context())
    return render_template("pages/page.html", kind=kind, text=text, body=render_markdown(text.body_markdown))


@bp.get("/accessibility")
@public
def accessibility():
    return _show(PublicPageKind.accessibility)


@bp.get("/privacy")
@public
def privacy():
    return _show(PublicPageKind.privacy)


@bp.route(f"/pages/<{KINDS}:kind>/edit", methods=["GET", "POST"])
@role_required(Role.admin)
def edit(kind: str):
    page_kind = PublicPageKind(kind)
    form = PublicPageForm()
    if request.method == "GET":
        row = services.stored(db.session, page_kind)
        sv = services.default_text(page_kind, "sv", **_context())
        en = services.default_text(page_kind, "en", **_context())
        form.title_sv.data = row.title_sv if row else sv.title
        form.body_sv.data = row.body_sv if row else sv.body_markdown
        form.title_en.data = row.title_en if row and row.body_en else en.title
        form.body_en.data = row.body_en if row and row.body_en else en.body_markdown
    elif form.validate_on_submit():
        data = services.PageData(
            title_sv=form.title_sv.data or "",
            body_sv=form.body_sv.data or "",
            title_en=form.title_en.data or "",
            body_en=form.body_en.data or "",
        )
        services.save(db.session, page_kind, data, editor=current_user.email)
        db.session.commit()
        flash(_("Sidan är sparad."), "success")
        return redirect(url_for(f"pages.{page_kind.value}"))
    status = 400 if request.method == "POST" else 200
    return render_template("pages/edit.html", kind=page_kind, form=form), status
