"""Notice pages for coordinators, and the public status page with its Atom feed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from commsplan import httpcache
from commsplan.audience.services import included
from commsplan.auth.guard import public, readable
from commsplan.extensions import db
from commsplan.forms import AddressActionForm, ConfirmForm
from commsplan.httpcache import PublicVersion
from commsplan.i18n import TranslatedLabels
from commsplan.inputs import parse_id
from commsplan.notices import feed, services, texts
from commsplan.notices.forms import (
    AddRecipientForm,
    FinishForm,
    NoticeForm,
    PublishForm,
    RescheduleForm,
    UpdateForm,
    to_local_naive,
    to_utc,
)
from commsplan.notices.labels import (
    KIND_LABELS,
    OUTAGE_STATE_LABELS,
    SEVERITY_LABELS,
    STATUS_LABELS,
    UPDATE_LABELS,
)
from commsplan.notices.markup import render_markdown
from commsplan.notices.models import Notice, NoticeKind, NoticeStatus, OutageState
from commsplan.notices.pagecache import PageCache
from commsplan.paging import page_of
from commsplan.plan.models import Service, StakeholderGroup, System
from commsplan.removal import confirm_removal
from commsplan.timeutil import STOCKHOLM, utcnow

bp = Blueprint("notices", __name__, url_prefix="/notices")
status_bp = Blueprint("status", __name__)


def markdown_filter(text: str) -> Markup:
    return render_markdown(text)


def localtime_filter(value: datetime | None) -> str:
    """Stockholm time, e.g. 2026-11-24 09:00."""
    return value.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M") if value else ""


@bp.app_context_processor
def notice_labels() -> dict[str, object]:
    return {
        "KIND_LABELS": TranslatedLabels(KIND_LABELS),
        "STATUS_LABELS": TranslatedLabels(STATUS_LABELS),
        "SEVERITY_LABELS": TranslatedLabels(SEVERITY_LABELS),
        "OUTAGE_STATE_LABELS": TranslatedLabels(OUTAGE_STATE_LABELS),
        "UPDATE_LABELS": TranslatedLabels(UPDATE_LABELS),
    }


def _notice_or_404(notice_id: int) -> Notice:
    return db.get_or_404(Notice, notice_id)


def _fill_choices(form: NoticeForm) -> None:
    form.services.choices = [
        (s.id, s.name)
        for s in db.session.scalars(
            select(Service).where(Service.in_use()).order_by(Service.position, Service.name)
        )
    ]
    form.systems.choices = [
        (s.id, s.name)
        for s in db.session.scalars(select(System).where(System.in_use()).order_by(System.name))
    ]
    form.groups.choices = [
        (g.id, g.name)
        for g in db.session.scalars(
            select(StakeholderGroup).where(StakeholderGroup.in_use()).order_by(StakeholderGroup.position)
        )
    ]


def _data_from(form: NoticeForm) -> services.NoticeData:
    return services.NoticeData(
        kind=form.kind_value,
        title=form.title.data or "",
        body_markdown=form.body_markdown.data or "",
        title_en=form.title_en.data or "",
        body_markdown_en=form.body_markdown_en.data or "",
        severity=form.severity_value,
        outage_state=form.outage_state_value,
        starts_at=to_utc(form.starts_at.data),
        ends_at=to_utc(form.ends_at.data),
        release_date=form.release_date.data,
        version=form.version.data or "",
        changes_for_staff=form.changes_for_staff.data or "",
        changes_for_residents=form.changes_for_residents.data or "",
        reminder_minutes=form.reminder_minutes.data,
        service_ids=list(form.services.data or []),
        system_ids=list(form.systems.data or []),
        group_ids=list(form.groups.data or []),
    )


def _attach_error(form: NoticeForm | RescheduleForm | UpdateForm, error: services.NoticeError) -> None:
    target = getattr(form, error.field, None) if error.field else None
    if target is not None:
        target.errors = [*target.errors, str(error)] if isinstance(target.errors, list) else [str(error)]
    else:
        flash(str(error), "error")


@bp.get("/")
def notice_list():
    kind = request.args.get("kind") or None
    status = request.args.get("status") or None
    try:
        kind_value = NoticeKind(kind) if kind else None
        status_value = NoticeStatus(status) if status else None
    except ValueError:
        abort(400, _("Okänt filter."))
    rows = services.notice_rows(db.session, kind_value, status_value)
    return render_template("notices/list.html", notices=rows, kind=kind, status=status)


def _draft_form_page(form: NoticeForm, notice: Notice | None, save: Callable[[], Notice]):
    """Save a draft (new or edited) from a valid form, or show the form again with 400."""
    if form.validate_on_submit():
        try:
            saved = save()
        except services.NoticeError as error:
            db.session.rollback()
            _attach_error(form, error)
        else:
            db.session.commit()
            flash(_("Utkastet är sparat."), "success")
            return redirect(url_for("notices.notice_detail", notice_id=saved.id))
    status = 400 if request.method == "POST" else 200
    return render_template("notices/form.html", form=form, notice=notice), status


@bp.route("/new", methods=["GET", "POST"])
def create_notice():
    form = NoticeForm()
    _fill_choices(form)
    if request.method == "GET" and request.args.get("kind") in {k.value for k in NoticeKind}:
        form.kind.data = request.args["kind"]
    return _draft_form_page(
        form, None, lambda: services.create_draft(db.session, _data_from(form), current_user)
    )


@bp.route("/<int:notice_id>/edit", methods=["GET", "POST"])
def edit_notice(notice_id: int):
    notice = _notice_or_404(notice_id)
    if not notice.is_draft:
        flash(_("Ett publicerat meddelande ändras genom uppdateringar."), "info")
        return redirect(url_for("notices.post_update", notice_id=notice.id))
    form = NoticeForm(obj=notice)
    _fill_choices(form)
    if request.method == "GET":
        form.kind.data = notice.kind.value
        form.severity.data = notice.severity.value if notice.severity else ""
        form.outage_state.data = notice.outage_state.value if notice.outage_state else ""
        form.starts_at.data = to_local_naive(notice.starts_at)
        form.ends_at.data = to_local_naive(notice.ends_at)
        form.services.data = [s.id for s in notice.services]
        form.systems.data = [s.id for s in notice.systems]
        form.groups.data = [g.id for g in notice.groups]
    return _draft_form_page(form, notice, lambda: services.update_draft(db.session, notice, _data_from(form)))


@bp.route("/<int:notice_id>/delete", methods=["GET", "POST"])
def delete_notice(notice_id: int):
    notice = _notice_or_404(notice_id)
    return confirm_removal(
        title=_("Ta bort utkastet %(title)s?", title=notice.title),
        cancel_url=url_for("notices.notice_detail", notice_id=notice.id),
        remove=lambda: services.delete_draft(db.session, notice),
        done=_("Utkastet är borttaget."),
        next_url=url_for("notices.notice_list"),
        blockers=[] if notice.is_draft else [_("Meddelandet är publicerat och finns kvar i historiken.")],
    )


@bp.get("/<int:notice_id>")
def notice_detail(notice_id: int):
    notice = _notice_or_404(notice_id)
    counts = None
    if not notice.is_draft:
        from commsplan.delivery.services import counts_for

        counts = counts_for(db.session, "notice", notice.id)
    return render_template(
        "notices/detail.html",
        notice=notice,
        counts=counts,
        missing=services.publish_blockers(db.session, notice) if notice.is_draft else {},
        reminder_at=services.reminder_at(notice, current_app.config)
        if notice.kind is NoticeKind.service_window
        else None,
        delivery_url=_delivery_url(notice),
    )


def _delivery_url(notice: Notice) -> str | None:
    if "delivery.notice_delivery" in current_app.view_functions:
        return url_for("delivery.notice_delivery", notice_id=notice.id)
    return None


@bp.route("/<int:notice_id>/recipients", methods=["GET", "POST"])
@readable
def notice_recipients(notice_id: int):
    notice = _notice_or_404(notice_id)
    form = AddRecipientForm()
    if request.method == "POST":
        if not notice.is_draft:
            abort(409, _("Mottagarlistan kan bara ändras före publicering."))
        if form.validate_on_submit():
            try:
                services.add_recipient(db.session, notice, form.email.data, form.name.data or "")
            except services.NoticeError as error:
                db.session.rollback()
                form.email.errors = [str(error)]
            else:
                db.session.commit()
                flash(_("%(email)s är tillagd.", email=form.email.data), "success")
                return redirect(url_for("notices.notice_recipients", notice_id=notice.id))
    people = services.recipients(db.session, notice)
    # A region's notice reaches thousands: the list is shown a page at a time.
    page = request.args.get("page", 1, type=parse_id) or 1
    shown = page_of(people, page, int(current_app.config["PAGE_SIZE"]))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "notices/recipients.html",
        notice=notice,
        people=shown.items,
        page=shown.page,
        pages=shown.pages,
        has_next=shown.has_next,
        count=len(included(people)),
        form=form,
        action_form=ConfirmForm(),
    ), status


@bp.post("/<int:notice_id>/recipients/remove")
def remove_recipient(notice_id: int):
    return _edit_recipient(notice_id, services.remove_recipient, _("%(email)s tas inte med."))


@bp.post("/<int:notice_id>/recipients/reset")
def reset_recipient(notice_id: int):
    return _edit_recipient(notice_id, services.reset_recipient, _("Ändringen för %(email)s är ångrad."))


def _edit_recipient(notice_id: int, change, message: str):  # type: ignore[no-untyped-def]
    notice = _notice_or_404(notice_id)
    if not notice.is_draft:
        abort(409, _("Mottagarlistan kan bara ändras före publicering."))
    form = AddressActionForm()
    email = form.address
    if form.validate_on_submit() and email:
        change(db.session, notice, email)
        db.session.commit()
        flash(message % {"email": email}, "success")
    return redirect(url_for("notices.notice_recipients", notice_id=notice.id))


@bp.route("/<int:notice_id>/publish", methods=["GET", "POST"])
def publish_notice(notice_id: int):
    notice = _notice_or_404(notice_id)
    if not notice.is_draft:
        flash(_("Meddelandet är redan publicerat."), "info")
        return redirect(url_for("notices.notice_detail", notice_id=notice.id))
    form = PublishForm()
    people = included(services.recipients(db.session, notice))
    missing = services.publish_blockers(db.session, notice)
    if form.validate_on_submit() and not missing:
        if form.expected.data is not None and form.expected.data != len(people):
            flash(
                _("Mottagarlistan har ändrats sedan du öppnade sidan. Kontrollera och bekräfta igen."),
                "error",
            )
        else:
            try:
                count = services.publish(db.session, notice, current_user)
            except services.NoticeError as error:
                db.session.rollback()
                flash(str(error), "error")
            else:
                db.session.commit()
                flash(texts.published(count), "success")
                return redirect(url_for("notices.notice_detail", notice_id=notice.id))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "notices/publish.html", notice=notice, count=len(people), form=form, missing=missing
    ), status


@bp.route("/<int:notice_id>/update", methods=["GET", "POST"])
def post_update(notice_id: int):
    notice = _notice_or_404(notice_id)
    form = UpdateForm()
    if notice.kind is not NoticeKind.outage:
        del form.outage_state
    if not notice.is_open:
        flash(_("Det går bara att uppdatera ett publicerat meddelande som pågår."), "info")
        return redirect(url_for("notices.notice_detail", notice_id=notice.id))
    if form.validate_on_submit():
        state = None
        if getattr(form, "outage_state", None) is not None and form.outage_state.data:
            state = OutageState(form.outage_state.data)
        try:
            update = services.post_update(db.session, notice, current_user, form.body.data or "", state)
        except services.NoticeError as error:
            db.session.rollback()
            _attach_error(form, error)
        else:
            db.session.commit()
            flash(
                ngettext(
                    "Uppdateringen skickas till %(num)d mottagare.",
                    "Uppdateringen skickas till %(num)d mottagare.",
                    update.recipient_count,
                ),
                "success",
            )
            return redirect(url_for("notices.notice_detail", notice_id=notice.id))
    status = 400 if request.method == "POST" else 200
    return render_template("notices/update.html", notice=notice, form=form), status


def _finish(notice_id: int, action: str):  # type: ignore[no-untyped-def]
    notice = _notice_or_404(notice_id)
    if not notice.is_open:
        flash(_("Meddelandet pågår inte."), "info")
        return redirect(url_for("notices.notice_detail", notice_id=notice.id))
    form = FinishForm()
    asks_end = action == "close" and notice.kind is NoticeKind.outage
    if request.method == "GET" and asks_end:
        form.ended_at.data = to_local_naive(notice.ends_at or utcnow().replace(second=0, microsecond=0))
    if form.validate_on_submit():
        body = form.body.data or ""
        try:
            if action == "close":
                ended_at = to_utc(form.ended_at.data) if asks_end else None
                update = services.close(db.session, notice, current_user, body, ended_at=ended_at)
            else:
                update = services.cancel(db.session, notice, current_user, body)
        except services.NoticeError as error:
            db.session.rollback()
            if error.field == "ended_at":
                form.ended_at.errors = [*form.ended_at.errors, str(error)]
                return render_template(
                    "notices/finish.html", notice=notice, form=form, action=action, asks_end=asks_end
                ), 400
            flash(str(error), "error")
            return redirect(url_for("notices.notice_detail", notice_id=notice.id))
        db.session.commit()
        done = _("Meddelandet är avslutat.") if action == "close" else _("Meddelandet är inställt.")
        flash(
            done
            + " "
            + ngettext(
                "%(num)d mottagare får besked.", "%(num)d mottagare får besked.", update.recipient_count
            ),
            "success",
        )
        return redirect(url_for("notices.notice_detail", notice_id=notice.id))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "notices/finish.html", notice=notice, form=form, action=action, asks_end=asks_end
    ), status


@bp.route("/<int:notice_id>/close", methods=["GET", "POST"])
def close_notice(notice_id: int):
    return _finish(notice_id, "close")


@bp.route("/<int:notice_id>/cancel", methods=["GET", "POST"])
def cancel_notice(notice_id: int):
    return _finish(notice_id, "cancel")


@bp.route("/<int:notice_id>/reschedule", methods=["GET", "POST"])
def reschedule_notice(notice_id: int):
    notice = _notice_or_404(notice_id)
    if notice.kind is not NoticeKind.service_window or not notice.is_open:
        flash(_("Bara publicerade servicefönster kan flyttas."), "info")
        return redirect(url_for("notices.notice_detail", notice_id=notice.id))
    form = RescheduleForm()
    if request.method == "GET":
        form.starts_at.data = to_local_naive(notice.starts_at)
        form.ends_at.data = to_local_naive(notice.ends_at)
    if form.validate_on_submit():
        try:
            update = services.reschedule(
                db.session,
                notice,
                current_user,
                to_utc(form.starts_at.data),
                to_utc(form.ends_at.data),
                form.body.data or "",
            )
        except services.NoticeError as error:
            db.session.rollback()
            _attach_error(form, error)
        else:
            db.session.commit()
            flash(
                ngettext(
                    "Den nya tiden skickas till %(num)d mottagare.",
                    "Den nya tiden skickas till %(num)d mottagare.",
                    update.recipient_count,
                ),
                "success",
            )
            return redirect(url_for("notices.notice_detail", notice_id=notice.id))
    status = 400 if request.method == "POST" else 200
    return render_template("notices/reschedule.html", notice=notice, form=form), status


# --- public status ----------------------------------------------------------------------


def _public_version(**view_args: object) -> PublicVersion:
    extensions = current_app.extensions
    if "public_version_statement" not in extensions:  # per app: the sources are the app's
        extensions["public_version_statement"] = services.public_version_statement(httpcache.extra_sources())
    return services.public_version(
        db.session,
        utcnow(),
        int(current_app.config["STATUS_HISTORY_DAYS"]),
        statement=extensions["public_version_statement"],
    )


@status_bp.get("/status")
@public
@httpcache.public_page(_public_version)
def status_page():
    # Only the page every visitor without a log-in gets is shared (no name, no flashes, no
    # CSRF token; see httpcache.public_page). Its version, read by the decorator in one
    # query, says whether this process's last rendering of it is still the page.
    version = g.get("public_etag") if g.get("shared_page") else None
    cache = _status_cache()
    key = str(get_locale())
    if version is not None and (body := cache.get(key, version)) is not None:
        return body
    overview = services.status_overview(db.session, history_days=current_app.config["STATUS_HISTORY_DAYS"])
    body = render_template("notices/status.html", overview=overview, now=utcnow())
    if version is not None:
        cache.put(key, version, body)
    return body


def _status_cache() -> PageCache:
    # One per app (not per module): tests build many apps in one process.
    extensions = current_app.extensions
    if "status_page_cache" not in extensions:
        extensions["status_page_cache"] = PageCache(current_app.config["STATUS_CACHE_SECONDS"])
    return extensions["status_page_cache"]


@status_bp.get("/status/<uid>")
@public
@httpcache.public_page(_public_version)
def public_notice(uid: str):
    notice = services.public_notice(db.session, uid)
    if notice is None:
        abort(404)
    return render_template("notices/public_notice.html", notice=notice)


@status_bp.get("/status.atom")
@public
@httpcache.public_page(_public_version)
def status_feed():
    body = feed.atom_feed(services.feed_notices(db.session), current_app.config["BASE_URL"])
    return Response(body, mimetype="application/atom+xml")
