"""The audience rules matrix "Mottagare × e-tjänst", the addresses with problems, and
contacts in bulk (CSV import with preview, CSV export)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from commsplan.audience import bulk, services
from commsplan.audience.forms import (
    ConfirmImportForm,
    ContactImportForm,
    MatrixForm,
    cell_name,
    parse_matrix,
    severity_name,
)
from commsplan.auth.guard import may, readable, role_required
from commsplan.auth.models import Role
from commsplan.extensions import db
from commsplan.forms import AddressActionForm, ConfirmForm
from commsplan.inputs import parse_id
from commsplan.kinds import NoticeKind, Severity
from commsplan.kinds.labels import SEVERITY_LABELS
from commsplan.redirects import local_path

bp = Blueprint("audience", __name__)

# Short enough for a cell of the matrix; the column and row are read out with each box.
SHORT_LABELS = {
    NoticeKind.outage: _l("Drift"),
    NoticeKind.service_window: _l("Servicefönster"),
    NoticeKind.release: _l("Release"),
    NoticeKind.general: _l("Information"),
}


def _matrix_page(matrix: services.Matrix, form: MatrixForm, errors: list[str], status: int = 200):  # type: ignore[no-untyped-def]
    return (
        render_template(
            "audience/matrix.html",
            matrix=matrix,
            form=form,
            errors=errors,
            kinds=list(NoticeKind),
            short_labels=SHORT_LABELS,
            can_edit=may("audience.matrix"),
            severities=list(Severity),
            severity_labels=SEVERITY_LABELS,
            columns=[
                (services.ALL_SERVICES, _("alla e-tjänster")),
                *((s.id, s.name) for s in matrix.services),
                (services.OWN_SYSTEMS, _("eget system")),
            ],
            cell_name=cell_name,
            severity_name=severity_name,
            ALL=services.ALL_SERVICES,
            OWN=services.OWN_SYSTEMS,
        ),
        status,
    )


@bp.route("/plan/audience", methods=["GET", "POST"])
@readable
def matrix():
    # Viewers read the matrix; saving it needs a coordinator (the guard's default for POST).
    current = services.matrix(db.session)
    form = MatrixForm()
    if request.method == "GET":
        return _matrix_page(current, form, [])
    if not form.validate_on_submit():
        return _matrix_page(
            current, form, [_("Formuläret har gått ut. Ladda om sidan och försök igen.")], 400
        )
    parsed = parse_matrix(request.form, current)
    if parsed.errors:
        return _matrix_page(current, form, parsed.errors, 400)
    services.save_matrix(db.session, parsed.specs, parsed.thresholds)
    db.session.commit()
    flash(_("Vem får vad är sparat."), "success")
    return redirect(url_for("audience.matrix"))


def _page() -> int:
    return request.args.get("page", 1, type=parse_id)


@bp.get("/audience/problems")
def problems():
    page = _page()
    rows, has_next = services.address_problems(db.session, page)
    return render_template(
        "audience/problems.html", rows=rows, page=page, has_next=has_next, form=ConfirmForm()
    )


@bp.post("/audience/problems/clear")
def clear_problem():
    form = AddressActionForm()
    email = form.address
    if not form.validate_on_submit():
        abort(400, description=_("Formuläret har gått ut. Ladda om sidan och försök igen."))
    if not email or services.clear_address_problem(db.session, email) == 0:
        abort(404, description=_("Adressen är inte flaggad."))
    db.session.commit()
    flash(_("Flaggan för %(email)s är borttagen; adressen får utskick igen.", email=email), "success")
    return redirect(local_path(form.next.data, url_for("audience.problems")))


# --- contacts in bulk ----------------------------------------------------------------------

PREVIEW_ROWS = 200


def _csv_response(body: str, filename: str) -> Response:
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers.set("Content-Disposition", "attachment", filename=filename)
    return response


@bp.get("/contacts/export.csv")
def export_contacts():
    return _csv_response(bulk.export_contacts(db.session), "kontakter.csv")


@bp.get("/subscriptions/export.csv")
def export_subscriptions():
    return _csv_response(bulk.export_subscriptions(db.session), "prenumerationer.csv")


@bp.route("/contacts/import", methods=["GET", "POST"])
@role_required(Role.coordinator)
def import_contacts():
    form = ContactImportForm()
    errors: list[str] = []
    if form.validate_on_submit():
        data = form.file.data.read(bulk.MAX_BYTES + 1)
        plan = bulk.plan_import(db.session, data)
        if not plan.file_errors:
            upload = bulk.store_upload(db.session, current_user.id, form.file.data.filename or "", data)
            db.session.commit()
            return redirect(url_for("audience.import_preview", uid=upload.uid))
        errors = plan.file_errors
    status = 400 if request.method == "POST" else 200
    return render_template("audience/import.html", form=form, errors=errors, columns=bulk.COLUMNS), status


@bp.route("/contacts/import/<uid>", methods=["GET", "POST"])
@role_required(Role.coordinator)
def import_preview(uid: str):
    upload = bulk.stored_upload(db.session, uid, current_user.id)
    if upload is None:
        abort(404, description=_("Importen finns inte längre. Ladda upp filen igen."))
    # Checked again against the register as it is now, not as it was at upload.
    plan = bulk.plan_import(db.session, upload.content)
    form = ConfirmImportForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit() and plan.rows and (plan.valid or form.mode.data == "valid"):
            counts = bulk.apply_import(db.session, plan)
            db.session.delete(upload)
            db.session.commit()
            flash(
                _(
                    "Importen är klar: %(created)s nya och %(updated)s ändrade kontakter.",
                    created=counts["create"],
                    updated=counts["update"],
                ),
                "success",
            )
            return redirect(url_for("plan.contact_list"))
        status = 400
        flash(
            _("Inget importerades: filen har fel. Rätta den eller importera bara de giltiga raderna."),
            "error",
        )
    changes = [row for row in plan.rows if row.action != "unchanged"]
    return (
        render_template(
            "audience/import_preview.html",
            upload=upload,
            plan=plan,
            changes=changes[:PREVIEW_ROWS],
            more=max(0, len(changes) - PREVIEW_ROWS),
            form=form,
        ),
        status,
    )
