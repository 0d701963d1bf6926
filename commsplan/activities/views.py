"""Activity pages: list, the checklist form, status, copy; templates and the gate setting."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from commsplan.activities import calendar, coverage, services
from commsplan.activities.exports import csv_response
from commsplan.activities.forms import DropForm, GateForm, QuestionForm, activity_form
from commsplan.activities.labels import ACTIVITY_KIND_LABELS, ACTIVITY_STATUS_LABELS, ANSWER_KIND_LABELS
from commsplan.activities.models import (
    Activity,
    ActivityKind,
    ActivityStatus,
    AnswerKind,
    ChecklistTemplate,
    TemplateQuestion,
)
from commsplan.auth.guard import role_required
from commsplan.auth.models import Role
from commsplan.extensions import db
from commsplan.forms import ConfirmForm
from commsplan.i18n import TranslatedLabels
from commsplan.inputs import InputError, parse_id, parse_int
from commsplan.notices.forms import to_local_naive, to_utc
from commsplan.notices.models import Notice
from commsplan.plan.models import Channel, Service, StakeholderGroup
from commsplan.removal import confirm_removal
from commsplan.timeutil import STOCKHOLM, utcnow

bp = Blueprint("activities", __name__, url_prefix="/activities")


@bp.app_context_processor
def activity_labels() -> dict[str, object]:
    return {
        "ACTIVITY_KIND_LABELS": TranslatedLabels(ACTIVITY_KIND_LABELS),
        "ACTIVITY_STATUS_LABELS": TranslatedLabels(ACTIVITY_STATUS_LABELS),
        "ANSWER_KIND_LABELS": TranslatedLabels(ANSWER_KIND_LABELS),
    }


@bp.get("/")
def activity_list():
    status = request.args.get("status") or None
    try:
        status_value = ActivityStatus(status) if status else None
    except ValueError:
        abort(400, _("Okänt filter."))
    page = request.args.get("page", 1, type=parse_int) or 1
    if page < 1:
        abort(400, _("Okänt filter."))
    size = int(current_app.config["PAGE_SIZE"])
    # One row more than shown tells whether there is a next page, without counting.
    rows = services.list_activities(db.session, status_value, limit=size + 1, offset=(page - 1) * size)
    return render_template(
        "activities/list.html",
        activities=rows[:size],
        status=status,
        missing={a.id: services.missing_answers(a) for a in rows[:size]},
        page=page,
        has_next=len(rows) > size,
    )


def _build_form(template: ChecklistTemplate, activity: Activity | None = None):  # type: ignore[no-untyped-def]
    options = services.form_options(db.session, activity, utcnow())
    form = activity_form(options.groups, options.channels, template.active_questions)
    form.notices.choices = [(n.id, f"{n.title} ({n.id})") for n in options.notices]
    form.occurrence.choices = [(0, _("Inget"))] + [
        (o.id, f"{o.series_title} {o.start.strftime('%Y-%m-%d')}") for o in options.occurrences
    ]
    # Each wording translated once, not once for each of the hundreds of people.
    as_user, as_contact = _("Användare: %(name)s"), _("Kontakt: %(name)s")
    form.responsible.choices = (
        [("", _("Ingen vald"))]
        + [(f"u{u.id}", as_user % {"name": u.name or u.email}) for u in options.users]
        + [(f"c{c.id}", as_contact % {"name": c.name}) for c in options.contacts]
    )
    return form


def _fill_form(form, data: services.ActivityData) -> None:  # type: ignore[no-untyped-def]
    form.title.data = data.title
    form.kind.data = data.kind.value
    form.notices.data = data.notice_ids
    form.occurrence.data = data.occurrence_id or 0
    form.information_value.data = (
        None if data.information_value is None else ("yes" if data.information_value else "no")
    )
    form.information_value_why.data = data.information_value_why
    form.purpose.data = data.purpose
    form.due_at.data = to_local_naive(data.due_at)
    form.workdays_before.data = data.workdays_before
    if data.responsible_user_id:
        form.responsible.data = f"u{data.responsible_user_id}"
    elif data.responsible_contact_id:
        form.responsible.data = f"c{data.responsible_contact_id}"
    by_group = {g.group_id: g for g in data.groups}
    for group, affected, message, channels in form.group_rows:
        answer = by_group.get(group.id)
        affected.data = "" if answer is None else ("direct" if answer.directly else "indirect")
        message.data = answer.core_message if answer else ""
        channels.data = answer.channel_ids if answer else []
    for question, field in form.question_rows:
        text, confirmed = data.answers.get(question.id, ("", False))
        field.data = confirmed if question.answer_kind is AnswerKind.confirm else text


def _data_from(form, template: ChecklistTemplate) -> services.ActivityData:  # type: ignore[no-untyped-def]
    responsible = form.responsible.data or ""
    if responsible and not re.fullmatch(r"[uc]\d+", responsible):
        raise services.ActivityError(_("Okänt val."), "responsible")
    groups = []
    for group, affected, message, channels in form.group_rows:
        if affected.data in ("direct", "indirect"):
            groups.append(
                services.GroupAnswer(
                    group.id, affected.data == "direct", message.data or "", list(channels.data or [])
                )
            )
    answers = {}
    for question, field in form.question_rows:
        if question.answer_kind is AnswerKind.confirm:
            answers[question.id] = ("", bool(field.data))
        else:
            answers[question.id] = (field.data or "", False)
    value = form.information_value.data
    return services.ActivityData(
        title=form.title.data or "",
        kind=ActivityKind(form.kind.data),
        template_id=template.id,
        information_value=None if value not in ("yes", "no") else value == "yes",
        information_value_why=form.information_value_why.data or "",
        purpose=form.purpose.data or "",
        due_at=to_utc(form.due_at.data),
        workdays_before=form.workdays_before.data,
        responsible_user_id=int(responsible[1:]) if responsible.startswith("u") else None,
        responsible_contact_id=int(responsible[1:]) if responsible.startswith("c") else None,
        occurrence_id=form.occurrence.data or None,
        notice_ids=list(form.notices.data or []),
        groups=groups,
        answers=answers,
    )


def _form_page(form, template: ChecklistTemplate, activity: Activity | None):  # type: ignore[no-untyped-def]
    if form.validate_on_submit():
        try:
            data = _data_from(form, template)
            saved = (
                services.update_activity(db.session, activity, data)
                if activity is not None
                else services.create_activity(db.session, data, current_user)
            )
        except services.ActivityError as error:
            db.session.rollback()
            target = getattr(form, error.field or "", None)
            if target is not None and hasattr(target, "errors"):
                target.errors = [*target.errors, str(error)]
            else:
                form.form_errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Aktiviteten är sparad."), "success")
            return redirect(url_for("activities.activity_detail", activity_id=saved.id))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "activities/form.html",
        form=form,
        activity=activity,
        template=template,
        templates=services.list_templates(db.session),
        suggestions=services.channel_suggestions(db.session, activity.id if activity else None),
    ), status


def _template_from_request(default: ChecklistTemplate | None = None) -> ChecklistTemplate:
    wanted = request.values.get("template", type=parse_id)
    if wanted:
        template = db.session.get(ChecklistTemplate, wanted)
        if template is None:
            abort(400, _("Okänd checklista."))
        return template
    return default or services.default_template(db.session)


@bp.route("/new", methods=["GET", "POST"])
def create_activity():
    template = _template_from_request()
    form = _build_form(template)
    if request.method == "GET":
        data = services.ActivityData(title="", template_id=template.id)
        notice = db.session.get(Notice, request.args.get("notice", type=parse_id) or 0)
        if notice is not None:
            data.title = notice.title
            data.notice_ids = [notice.id]
            if notice.kind.value in {k.value for k in ActivityKind}:
                data.kind = ActivityKind(notice.kind.value)
            data.groups = [services.GroupAnswer(g.id) for g in notice.groups]
        _fill_form(form, data)
    return _form_page(form, template, None)


def _activity_or_404(activity_id: int) -> Activity:
    return db.get_or_404(Activity, activity_id)


@bp.route("/<int:activity_id>/edit", methods=["GET", "POST"])
def edit_activity(activity_id: int):
    activity = _activity_or_404(activity_id)
    template = _template_from_request(activity.template)
    form = _build_form(template, activity)
    if request.method == "GET":
        data = services.data_from_activity(activity)
        data.template_id = template.id
        _fill_form(form, data)
    return _form_page(form, template, activity)


@bp.get("/<int:activity_id>")
def activity_detail(activity_id: int, drop_form: DropForm | None = None, status_code: int = 200):
    activity = _activity_or_404(activity_id)
    return render_template(
        "activities/detail.html",
        activity=activity,
        missing=services.missing_answers(activity),
        due=services.due(activity),
        responsible=services.responsible_name(activity),
        form=ConfirmForm(),
        drop_form=drop_form or DropForm(),
    ), status_code


@bp.post("/<int:activity_id>/status/<any(planned, done, idea, dropped):target>")
def change_status(activity_id: int, target: str):
    activity = _activity_or_404(activity_id)
    drop_form = DropForm() if target == "dropped" else None
    form = drop_form or ConfirmForm()
    if not form.validate_on_submit():
        return activity_detail(activity_id, drop_form=drop_form, status_code=400)
    reason = drop_form.reason.data if drop_form is not None else ""
    try:
        services.set_status(db.session, activity, ActivityStatus(target), reason or "")
    except services.ActivityError as error:
        db.session.rollback()
        flash(str(error), "error")
        return activity_detail(activity_id, drop_form=drop_form, status_code=400)
    db.session.commit()
    flash(_("Status: %(status)s.", status=ACTIVITY_STATUS_LABELS[activity.status]), "success")
    return redirect(url_for("activities.activity_detail", activity_id=activity.id))


@bp.post("/<int:activity_id>/copy")
def copy_activity(activity_id: int):
    activity = _activity_or_404(activity_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    copy = services.copy_activity(db.session, activity, current_user)
    db.session.commit()
    flash(_("Aktiviteten är kopierad. Ange tid och koppla meddelandet."), "success")
    return redirect(url_for("activities.edit_activity", activity_id=copy.id))


@bp.route("/<int:activity_id>/delete", methods=["GET", "POST"])
def delete_activity(activity_id: int):
    activity = _activity_or_404(activity_id)
    return confirm_removal(
        title=_("Ta bort aktiviteten %(title)s?", title=activity.title),
        cancel_url=url_for("activities.activity_detail", activity_id=activity.id),
        remove=lambda: services.delete_activity(db.session, activity),
        done=_("Aktiviteten är borttagen."),
        next_url=url_for("activities.activity_list"),
    )


# --- templates and settings (admins) -----------------------------------------------------


@bp.get("/templates")
def template_list():
    return render_template(
        "activities/templates.html",
        templates=services.list_templates(db.session),
        gate_enabled=services.gate_enabled(db.session, current_app.config),
        gate_configured=bool(current_app.config.get("ACTIVITY_GATE", True)),
        gate_form=GateForm(enabled=services.gate_enabled(db.session, current_app.config)),
        form=ConfirmForm(),
    )


@bp.route("/templates/<int:template_id>/questions/new", methods=["GET", "POST"])
@role_required(Role.admin)
def add_question(template_id: int):
    template = db.get_or_404(ChecklistTemplate, template_id)
    form = QuestionForm()
    if form.validate_on_submit():
        services.add_question(db.session, template, form.text.data or "", AnswerKind(form.answer_kind.data))
        db.session.commit()
        flash(_("Frågan är tillagd."), "success")
        return redirect(url_for("activities.template_list"))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "activities/question_form.html", form=form, template=template, question=None
    ), status


@bp.route("/questions/<int:question_id>/edit", methods=["GET", "POST"])
@role_required(Role.admin)
def edit_question(question_id: int):
    question = db.get_or_404(TemplateQuestion, question_id)
    form = QuestionForm(obj=question)
    del form.answer_kind
    if form.validate_on_submit():
        services.edit_question(db.session, question, form.text.data or "", form.help_text.data or "")
        db.session.commit()
        flash(_("Frågan är ändrad. Svar som redan getts behåller sin formulering."), "success")
        return redirect(url_for("activities.template_list"))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "activities/question_form.html", form=form, template=question.template, question=question
    ), status


@bp.post("/questions/<int:question_id>/<any(up, down, retire, restore):action>")
@role_required(Role.admin)
def change_question(question_id: int, action: str):
    question = db.get_or_404(TemplateQuestion, question_id)
    if ConfirmForm().validate_on_submit():
        if action in ("up", "down"):
            services.move_question(db.session, question, -1 if action == "up" else 1)
        else:
            services.retire_question(db.session, question, action == "retire")
        db.session.commit()
    return redirect(url_for("activities.template_list", _anchor=f"q{question.id}"))


@bp.post("/settings/gate")
@role_required(Role.admin)
def set_gate():
    form = GateForm()
    if form.validate_on_submit():
        services.set_gate(db.session, bool(form.enabled.data))
        db.session.commit()
        flash(
            _("Spärren är på.")
            if form.enabled.data
            else _("Spärren är av: meddelanden kan publiceras utan aktivitet."),
            "success",
        )
    return redirect(url_for("activities.template_list"))


# --- communication calendar --------------------------------------------------------------


def _calendar_selection() -> tuple[int, int, calendar.CalendarFilter, dict[str, object]]:
    """Month and filters from the query string; anything unknown is a 400, never a 500."""
    today = utcnow().astimezone(STOCKHOLM).date()
    raw_month = request.args.get("month") or f"{today:%Y-%m}"
    try:
        year, month = (int(part) for part in raw_month.split("-"))
        if not (1 <= month <= 12 and 1900 <= year <= 2200):
            raise ValueError
    except ValueError:
        abort(400, _("Ange månaden som ÅÅÅÅ-MM."))
    args: dict[str, object] = {"month": f"{year:04d}-{month:02d}"}
    ids = {}
    for name, model in (("group", StakeholderGroup), ("service", Service), ("channel", Channel)):
        value = request.args.get(name) or ""
        if not value:
            continue
        try:
            ident = parse_id(value)
        except InputError:
            abort(400, _("Okänt filter."))
        # Before the query: a 20-digit id was an OverflowError (a 500) on SQLite.
        if db.session.get(model, ident) is None:
            abort(400, _("Okänt filter."))
        ids[name] = ident
        args[name] = ident
    wanted = calendar.CalendarFilter(
        ids.get("group"),
        ids.get("service"),
        db.session.get(Channel, ids["channel"]) if "channel" in ids else None,
    )
    return year, month, wanted, args


def _item_urls(found: list[calendar.CalendarItem]) -> dict[tuple[str, int], str]:
    endpoints = {
        "activity": ("activities.activity_detail", "activity_id"),
        "notice": ("notices.notice_detail", "notice_id"),
        "meeting": ("meetings.occurrence_detail", "occurrence_id"),
    }
    urls = {}
    for item in found:
        endpoint, arg = endpoints[item.source]
        urls[(item.source, item.id)] = url_for(endpoint, **{arg: item.id})
    return urls


@bp.get("/calendar")
def calendar_page():
    year, month, wanted, args = _calendar_selection()
    view = request.args.get("view") or "month"
    if view not in ("month", "list"):
        abort(400, _("Okänd vy."))
    start, end = calendar.month_range(year, month)
    found = calendar.items(db.session, start, end, wanted)
    by_day: dict[object, list[calendar.CalendarItem]] = {}
    for item in found:
        by_day.setdefault(item.day, []).append(item)
    previous = f"{year - (month == 1):04d}-{(month - 2) % 12 + 1:02d}"
    following = f"{year + (month == 12):04d}-{month % 12 + 1:02d}"
    return render_template(
        "activities/calendar.html",
        view=view,
        year=year,
        month=month,
        weeks=calendar.month_weeks(year, month),
        items=found,
        by_day=by_day,
        urls=_item_urls(found),
        args=args,
        previous=previous,
        following=following,
        today=utcnow().astimezone(STOCKHOLM).date(),
        groups=services.groups_in_use(db.session),
        service_options=services.services_in_use(db.session),
        channels=services.all_channels(db.session),
    )


@bp.get("/calendar.ics")
def calendar_ics():
    year, month, wanted, _args = _calendar_selection()
    start, end = calendar.month_range(year, month)
    found = calendar.items(db.session, start, end, wanted)
    base = current_app.config["BASE_URL"]
    urls = {key: base + path for key, path in _item_urls(found).items()}
    body = calendar.to_ics(
        found, _("Kommunikationskalender %(month)s", month=f"{year:04d}-{month:02d}"), urls
    )
    return Response(
        body,
        mimetype="text/calendar",
        headers={
            "Content-Disposition": f'attachment; filename="kommunikationskalender-{year:04d}-{month:02d}.ics"'
        },
    )


@bp.get("/calendar.csv")
def calendar_csv():
    year, month, wanted, _args = _calendar_selection()
    start, end = calendar.month_range(year, month)
    found = calendar.items(db.session, start, end, wanted)
    return csv_response(
        calendar.CSV_HEADER, calendar.csv_rows(found), f"kommunikationskalender-{year:04d}-{month:02d}.csv"
    )


# --- coverage ----------------------------------------------------------------------------


def _period() -> tuple[date, date]:
    """[from, to] in Swedish dates from the query string; default: the last 30 days."""
    today = utcnow().astimezone(STOCKHOLM).date()
    try:
        first = date.fromisoformat(request.args.get("from") or (today - timedelta(days=29)).isoformat())
        last = date.fromisoformat(request.args.get("to") or today.isoformat())
    except ValueError:
        abort(400, _("Ange datum som ÅÅÅÅ-MM-DD."))
    if last < first:
        abort(400, _("Periodens slut ligger före dess början."))
    if (last - first).days > 366 * 3:
        abort(400, _("Välj en period på högst tre år."))
    return first, last


def _coverage_report() -> tuple[date, date, coverage.Coverage]:
    first, last = _period()
    start = datetime.combine(first, time(0, 0), tzinfo=STOCKHOLM)
    end = datetime.combine(last + timedelta(days=1), time(0, 0), tzinfo=STOCKHOLM)
    return first, last, coverage.coverage(db.session, start, end)


@bp.get("/coverage")
def coverage_page():
    first, last, report = _coverage_report()
    return render_template("activities/coverage.html", first=first, last=last, report=report)


@bp.get("/coverage.csv")
def coverage_csv():
    first, last, report = _coverage_report()
    header, rows = coverage.csv_rows(report)
    return csv_response(header, rows, f"tackning-{first.isoformat()}-{last.isoformat()}.csv")
