"""Meeting pages: series, occurrences, agenda editor, printable agenda, public sign-up."""

from __future__ import annotations

from datetime import datetime, timedelta

import markdown as markdown_lib
import nh3
from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_date, format_time
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select

from commsplan.auth.guard import may, public, role_required
from commsplan.auth.models import Role
from commsplan.csvfile import write_csv
from commsplan.extensions import db, limiter
from commsplan.feeds import invitations
from commsplan.forms import ConfirmForm
from commsplan.meetings import links, notify, services
from commsplan.meetings.forms import (
    KIND_LABELS,
    AgendaForm,
    AgendaRowForm,
    CancelForm,
    MoveForm,
    RegistrationForm,
    SeriesForm,
    describe_cadence,
)
from commsplan.meetings.models import MeetingSeries, Occurrence, Registration
from commsplan.meetings.services import MeetingError
from commsplan.removal import confirm_removal
from commsplan.timeutil import STOCKHOLM, utcnow

bp = Blueprint("meetings", __name__, url_prefix="/meetings")

EMPTY_AGENDA_ROWS = 3


def render_markdown(text: str) -> Markup:
    """User Markdown as safe HTML: rendered, then sanitised with nh3."""
    html = markdown_lib.markdown(text or "", extensions=["sane_lists"])
    return Markup(nh3.clean(html, link_rel="noopener noreferrer"))  # noqa: S704 – nh3 sanitised it


def _day(value: datetime) -> str:
    return format_date(value.astimezone(STOCKHOLM), "EEEE d MMMM y")


def _short_day(value: datetime) -> str:
    return format_date(value.astimezone(STOCKHOLM), "EEE d MMM y")


def _time(value: datetime) -> str:
    return format_time(value.astimezone(STOCKHOLM), "HH.mm")


@bp.context_processor
def helpers() -> dict[str, object]:
    return {
        "fmt_day": _day,
        "fmt_short_day": _short_day,
        "fmt_time": _time,
        "markdown": render_markdown,
        "kind_label": lambda kind: str(KIND_LABELS.get(kind.value, kind.value)),
        "describe_cadence": describe_cadence,
        "can_edit": lambda: may("meetings.series_create"),
    }


def _series_or_404(series_id: int) -> MeetingSeries:
    return db.get_or_404(MeetingSeries, series_id)


def _occurrence_or_404(occurrence_id: int) -> Occurrence:
    return db.get_or_404(Occurrence, occurrence_id)


def _announce(
    occurrences: list[Occurrence], previous: dict[int, tuple[datetime, datetime]] | None = None
) -> None:
    """Tell invited participants (iMIP update/cancel) and people signed up about changed
    occurrences, in the caller's transaction."""
    invitations.send_updates(db.session, occurrences)
    _notify_registrants(occurrences, previous)


def _notify_registrants(
    occurrences: list[Occurrence], previous: dict[int, tuple[datetime, datetime]] | None = None
) -> None:
    """Mail the people signed up to these (moved or cancelled) occurrences; caller commits.
    ``previous``: occurrence id -> its start and end before the change."""
    base = current_app.config["BASE_URL"]
    for occ in occurrences:
        if not occ.confirmed_registrations or occ.end < utcnow():
            continue
        notify.queue_registrant_update(
            db.session,
            occ,
            meeting_url=links.public_occurrence_url(occ),
            previous=(previous or {}).get(occ.id),
            cancel_urls={
                reg.id: base + url_for("meetings.registration_cancel", token=reg.token)
                for reg in occ.confirmed_registrations
            },
        )


# --- series ----------------------------------------------------------------------------


@bp.get("/")
def series_list():
    rows = db.session.scalars(select(MeetingSeries).order_by(MeetingSeries.title)).all()
    now = utcnow()
    next_of = {series.id: next(iter(services.upcoming(series, now)), None) for series in rows}
    return render_template("meetings/series_list.html", series_list=rows, next_of=next_of)


def _save_series(form: SeriesForm, series: MeetingSeries | None):  # type: ignore[no-untyped-def]
    try:
        data = form.to_data(db.session)
        if series is None:
            series = services.create_series(db.session, data)
        else:
            result = services.update_series(db.session, series, data)
            # Invitees hold every future occurrence (new title or description too);
            # people signed up only hear about time, place or status.
            invitations.send_series_updates(db.session, series)
            _notify_registrants(result.affected, result.previous)
    except MeetingError as error:
        db.session.rollback()
        # Before anything reads form.errors: WTForms caches it on first access.
        target = form[error.field] if error.field and error.field in form else form.cadence
        target.errors = [*target.errors, str(error)]
        return None
    db.session.commit()
    return series


@bp.route("/new", methods=["GET", "POST"])
def series_create():
    form = SeriesForm()
    form.load_choices(db.session)
    if form.validate_on_submit():
        series = _save_series(form, None)
        if series is not None:
            flash(_("Mötesserien %(title)s är skapad.", title=series.title), "success")
            return redirect(url_for("meetings.series_detail", series_id=series.id))
    status = 400 if request.method == "POST" else 200
    return render_template("meetings/series_form.html", form=form, series=None), status


@bp.route("/<int:series_id>/edit", methods=["GET", "POST"])
def series_edit(series_id: int):
    series = _series_or_404(series_id)
    form = SeriesForm(obj=series)
    form.load_choices(db.session)
    if request.method == "GET":
        form.fill_from(series)
    if form.validate_on_submit():
        saved = _save_series(form, series)
        if saved is not None:
            flash(_("Mötesserien %(title)s är sparad.", title=saved.title), "success")
            return redirect(url_for("meetings.series_detail", series_id=saved.id))
        series = _series_or_404(series_id)
    status = 400 if request.method == "POST" else 200
    return render_template("meetings/series_form.html", form=form, series=series), status


@bp.get("/<int:series_id>")
def series_detail(series_id: int):
    series = services.series_with_occurrences(db.session, series_id)
    if series is None:
        abort(404)
    now = utcnow()
    participants, participant_count = services.first_participants(
        db.session, series, current_app.config["PAGE_SIZE"]
    )
    return render_template(
        "meetings/series_detail.html",
        series=series,
        upcoming=services.upcoming(series, now),
        past=services.past(series, now),
        participants=participants,
        participant_count=participant_count,
        skipped=services.skipped_dates(
            series, now.astimezone(STOCKHOLM).date(), now.astimezone(STOCKHOLM).date() + timedelta(days=366)
        ),
    )


@bp.route("/<int:series_id>/delete", methods=["GET", "POST"])
def series_delete(series_id: int):
    series = _series_or_404(series_id)

    def remove() -> None:
        invitations.cancel_series(db.session, series)
        db.session.delete(series)

    return confirm_removal(
        title=_("Ta bort mötesserien %(title)s med alla tillfällen?", title=series.title),
        cancel_url=url_for("meetings.series_detail", series_id=series.id),
        remove=remove,
        done=_("Mötesserien %(title)s är borttagen.", title=series.title),
        next_url=url_for("meetings.series_list"),
        blockers=services.delete_series_blockers(series),
    )


# --- occurrences -----------------------------------------------------------------------


@bp.get("/occurrences/<int:occurrence_id>")
def occurrence_detail(occurrence_id: int):
    occurrence = _occurrence_or_404(occurrence_id)
    return render_template(
        "meetings/occurrence_detail.html",
        occ=occurrence,
        series=occurrence.series,
        agenda=services.agenda_with_times(occurrence),
        numbers=services.agenda_numbers(occurrence),
        registration_count=services.registration_count(db.session, occurrence),
        registration_open=services.registration_is_open(occurrence),
        confirm_form=ConfirmForm(),
        public_key=links.occurrence_key(occurrence.id),
    )


@bp.route("/occurrences/<int:occurrence_id>/move", methods=["GET", "POST"])
def occurrence_move(occurrence_id: int):
    occurrence = _occurrence_or_404(occurrence_id)
    form = MoveForm()
    if request.method == "GET":
        start, end = occurrence.start.astimezone(STOCKHOLM), occurrence.end.astimezone(STOCKHOLM)
        form.day.data, form.start_time.data, form.end_time.data = start.date(), start.time(), end.time()
        form.location.data, form.online_url.data = occurrence.location, occurrence.online_url
        form.note.data = occurrence.note
    if form.validate_on_submit():
        start = datetime.combine(form.day.data, form.start_time.data, tzinfo=STOCKHOLM)
        end = datetime.combine(form.day.data, form.end_time.data, tzinfo=STOCKHOLM)
        before = {occurrence.id: (occurrence.start, occurrence.end)}
        try:
            services.move_occurrence(
                db.session,
                occurrence,
                start,
                end,
                location=(form.location.data or "").strip(),
                online_url=(form.online_url.data or "").strip(),
                note=(form.note.data or "").strip(),
            )
        except MeetingError as error:
            db.session.rollback()
            target = form[error.field] if error.field and error.field in form else form.end_time
            target.errors = [*target.errors, str(error)]
        else:
            _announce([occurrence], before)
            db.session.commit()
            flash(_("Mötet är flyttat till %(day)s.", day=_day(occurrence.start)), "success")
            return redirect(url_for("meetings.occurrence_detail", occurrence_id=occurrence.id))
    status = 400 if request.method == "POST" else 200
    return render_template("meetings/occurrence_move.html", form=form, occ=occurrence), status


@bp.route("/occurrences/<int:occurrence_id>/cancel", methods=["GET", "POST"])
def occurrence_cancel(occurrence_id: int):
    occurrence = _occurrence_or_404(occurrence_id)
    form = CancelForm()
    if occurrence.is_cancelled:
        flash(_("Tillfället är redan inställt."), "info")
        return redirect(url_for("meetings.occurrence_detail", occurrence_id=occurrence.id))
    if form.validate_on_submit():
        services.cancel_occurrence(db.session, occurrence, note=(form.note.data or "").strip())
        _announce([occurrence])
        db.session.commit()
        flash(_("Mötet %(day)s är inställt.", day=_day(occurrence.start)), "success")
        return redirect(url_for("meetings.occurrence_detail", occurrence_id=occurrence.id))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "meetings/occurrence_cancel.html",
        form=form,
        occ=occurrence,
        registration_count=services.registration_count(db.session, occurrence),
    ), status


@bp.post("/occurrences/<int:occurrence_id>/reinstate")
def occurrence_reinstate(occurrence_id: int):
    occurrence = _occurrence_or_404(occurrence_id)
    if ConfirmForm().validate_on_submit():
        try:
            services.reinstate_occurrence(db.session, occurrence)
        except MeetingError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            _announce([occurrence])
            db.session.commit()
            flash(_("Mötet är återinfört."), "success")
    return redirect(url_for("meetings.occurrence_detail", occurrence_id=occurrence.id))


# --- agenda ----------------------------------------------------------------------------


@bp.route("/occurrences/<int:occurrence_id>/agenda", methods=["GET", "POST"])
def agenda_edit(occurrence_id: int):
    occurrence = _occurrence_or_404(occurrence_id)
    form = AgendaForm()
    if request.method == "GET":
        for item in occurrence.agenda_items:
            form.items.append_entry(item)
        for _n in range(EMPTY_AGENDA_ROWS):
            form.items.append_entry()
        for number, entry in enumerate(form.items, start=1):
            entry.form.position.data = number
        form.practical_notes.data = occurrence.practical_notes
        form.material_url.data = occurrence.material_url
        form.minutes_url.data = occurrence.minutes_url
        form.minutes_markdown.data = occurrence.minutes_markdown
    if form.validate_on_submit():
        items = form.agenda_items()
        services.replace_agenda(db.session, occurrence, items)
        services.update_occurrence_details(
            db.session,
            occurrence,
            practical_notes=form.practical_notes.data or "",
            material_url=(form.material_url.data or "").strip(),
            minutes_url=(form.minutes_url.data or "").strip(),
            minutes_markdown=form.minutes_markdown.data or "",
        )
        db.session.commit()
        flash(_("Dagordningen är sparad."), "success")
        if request.form.get("more_rows"):
            return redirect(url_for("meetings.agenda_edit", occurrence_id=occurrence.id))
        return redirect(url_for("meetings.occurrence_detail", occurrence_id=occurrence.id))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "meetings/agenda_form.html",
        form=form,
        occ=occurrence,
        previous=services.previous_occurrence(db.session, occurrence),
        confirm_form=ConfirmForm(),
        row_form=AgendaRowForm,
    ), status


@bp.post("/occurrences/<int:occurrence_id>/agenda/copy")
def agenda_copy(occurrence_id: int):
    occurrence = _occurrence_or_404(occurrence_id)
    if ConfirmForm().validate_on_submit():
        source = services.copy_agenda_from_previous(db.session, occurrence)
        if source is None:
            flash(_("Det finns inget tidigare möte med dagordning att kopiera."), "info")
        else:
            db.session.commit()
            flash(_("Dagordningen är kopierad från mötet %(day)s.", day=_day(source.start)), "success")
    return redirect(url_for("meetings.agenda_edit", occurrence_id=occurrence.id))


@bp.get("/occurrences/<int:occurrence_id>/agenda/print")
def agenda_print(occurrence_id: int):
    occurrence = _occurrence_or_404(occurrence_id)
    return render_template(
        "meetings/agenda_print.html",
        occ=occurrence,
        series=occurrence.series,
        agenda=services.agenda_with_times(occurrence),
        numbers=services.agenda_numbers(occurrence),
    )


# --- registrations (organiser) ---------------------------------------------------------


@bp.get("/occurrences/<int:occurrence_id>/registrations")
@role_required(Role.coordinator)  # names and addresses: only for those who organise
def registration_list(occurrence_id: int):
    occurrence = _occurrence_or_404(occurrence_id)
    return render_template(
        "meetings/registrations.html", occ=occurrence, registrations=occurrence.confirmed_registrations
    )


@bp.get("/occurrences/<int:occurrence_id>/registrations.csv")
@role_required(Role.coordinator)  # names and addresses: only for those who organise
def registration_csv(occurrence_id: int):
    occurrence = _occurrence_or_404(occurrence_id)
    rows = (
        [reg.name, reg.email, reg.organisation, f"{reg.created_at.astimezone(STOCKHOLM):%Y-%m-%d %H:%M}"]
        for reg in occurrence.confirmed_registrations
    )
    body = write_csv([_("Namn"), _("E-postadress"), _("Organisation"), _("Anmäld")], rows)
    filename = f"anmalningar-{occurrence.start.astimezone(STOCKHOLM):%Y-%m-%d}.csv"
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# --- public pages --------------------------------------------------------------------


@bp.get("/public/<int:occurrence_id>")
@public
def public_occurrence(occurrence_id: int):
    """What mail and calendars link to: the meeting without participant names. Open to
    all for series that take sign-ups, otherwise only with the key sent in the link."""
    occurrence = _occurrence_or_404(occurrence_id)
    if not links.can_view_publicly(occurrence, request.args.get("key")):
        abort(404)
    return render_template(
        "meetings/public_occurrence.html",
        occ=occurrence,
        series=occurrence.series,
        agenda=services.agenda_with_times(occurrence),
        numbers=services.agenda_numbers(occurrence),
        registration_open=services.registration_is_open(occurrence),
    )


# --- public sign-up --------------------------------------------------------------------


def _sign_up_rate_limit() -> str:
    return current_app.config["REGISTRATION_RATE_LIMIT"]


def _too_many_sign_ups() -> str:
    return _("För många anmälningar från din adress. Vänta en stund och försök igen.")


def _queue_confirmation(registration: Registration) -> None:
    notify.queue_confirmation(
        db.session,
        registration,
        meeting_url=links.public_occurrence_url(registration.occurrence),
        cancel_url=current_app.config["BASE_URL"]
        + url_for("meetings.registration_cancel", token=registration.token),
    )


@bp.route("/register/<int:occurrence_id>", methods=["GET", "POST"])
@public
@limiter.limit(_sign_up_rate_limit, methods=["POST"], error_message=_too_many_sign_ups)
def register(occurrence_id: int):
    occurrence = _occurrence_or_404(occurrence_id)
    if not occurrence.series.registration_open:
        abort(404)
    is_open = services.registration_is_open(occurrence)
    form = RegistrationForm()
    if is_open and form.validate_on_submit():
        try:
            result = services.register(
                db.session,
                occurrence,
                form.name.data,
                form.email.data,
                form.organisation.data or "",
                language=form.language.data,
                address_mail_limit=current_app.config["REGISTRATION_MAILS_PER_ADDRESS"],
            )
        except services.RegistrationClosed:
            db.session.rollback()
            is_open = False
        else:
            if result.mail is services.SignUpMail.confirmation and result.registration is not None:
                _queue_confirmation(result.registration)
            elif result.mail is services.SignUpMail.confirm_link and result.registration is not None:
                notify.queue_confirm_link(
                    db.session,
                    result.registration,
                    confirm_url=current_app.config["BASE_URL"]
                    + url_for("meetings.registration_confirm", token=result.confirm_token),
                )
            db.session.commit()
            # One answer for every outcome, so the form tells no one who is signed up.
            return render_template("meetings/register_done.html", occ=occurrence, series=occurrence.series)
    status = 400 if request.method == "POST" and is_open else (409 if request.method == "POST" else 200)
    return render_template(
        "meetings/register.html",
        form=form,
        occ=occurrence,
        series=occurrence.series,
        is_open=is_open,
        agenda=services.agenda_with_times(occurrence),
        numbers=services.agenda_numbers(occurrence),
    ), status


@bp.route("/register/confirm/<token>", methods=["GET", "POST"])
@public
def registration_confirm(token: str):
    """The link in the mail to an address we did not know. Confirming is a POST, so a mail
    scanner that opens links does not sign anyone up."""
    registration = services.pending_registration(db.session, token)
    if registration is None:
        return render_template("meetings/registration_confirm.html", occ=None), 404
    occurrence = registration.occurrence
    form = ConfirmForm()
    if form.validate_on_submit():
        services.confirm_registration(db.session, registration)
        _queue_confirmation(registration)
        db.session.commit()
        return render_template("meetings/registration_confirm.html", occ=occurrence, confirmed=True)
    return render_template("meetings/registration_confirm.html", occ=occurrence, confirmed=False, form=form)


@bp.route("/registration/<token>", methods=["GET", "POST"])
@public
def registration_cancel(token: str):
    registration = services.registration_by_token(db.session, token)
    if registration is None:
        return render_template("meetings/registration_cancelled.html", occ=None, missing=True), 404
    occurrence = registration.occurrence
    form = ConfirmForm()
    if form.validate_on_submit():
        if occurrence.end >= utcnow():
            notify.queue_withdrawal(
                db.session, registration, meeting_url=links.public_occurrence_url(occurrence)
            )
        services.cancel_registration(db.session, registration)
        db.session.commit()
        return render_template("meetings/registration_cancelled.html", occ=occurrence, missing=False)
    return render_template(
        "meetings/registration_cancel.html", form=form, occ=occurrence, registration=registration
    )
