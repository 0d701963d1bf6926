"""Managing subscriptions; the public sign-up, preferences and one-click pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from commsplan.auth.guard import public, readable
from commsplan.extensions import db, limiter
from commsplan.forms import BaseForm, ConfirmForm
from commsplan.inputs import parse_id
from commsplan.kinds import NoticeKind
from commsplan.kinds.labels import KIND_LABELS
from commsplan.plan.models import Contact, Service
from commsplan.redirects import local_path
from commsplan.subscriptions import services
from commsplan.subscriptions.forms import (
    PreferencesForm,
    RoleDigestForm,
    SubscribeForm,
    SubscriptionForm,
    SubscriptionSearchForm,
)
from commsplan.subscriptions.labels import FREQUENCY_LABELS
from commsplan.subscriptions.models import Frequency, RoleRequest, Subscription

bp = Blueprint("subscriptions", __name__)


def _fill(form: SubscriptionForm, contacts: list[Contact]) -> None:
    form.contact.choices = [(c.id, f"{c.name} <{c.email}>") for c in contacts]
    targets = [
        (f"kind:{kind.value}", _("Alla meddelanden av typen %(kind)s", kind=label))
        for kind, label in KIND_LABELS.items()
    ]
    targets += [
        (f"service:{s.id}", _("E-tjänsten %(service)s", service=s.name))
        for s in db.session.scalars(
            select(Service).where(Service.in_use()).order_by(Service.position, Service.name)
        )
    ]
    form.target.choices = targets


def _contact_choices(contact: Contact | None, text: str) -> list[Contact]:
    """The contacts the form offers: the one posted or asked for, else one page of the
    active contacts matching the search (never all of a region's)."""
    if request.method == "POST":
        posted = db.session.get(Contact, request.form.get("contact", type=parse_id) or 0)
        return [posted] if posted is not None and posted.active else []
    if contact is not None:
        return [contact]
    return services.contact_choices(db.session, text, limit=current_app.config["PAGE_SIZE"])


@bp.route("/subscriptions", methods=["GET", "POST"])
@readable
def subscription_list():
    """All subscriptions, or one contact's (``?contact=<id>``, linked from contact pages),
    a page at a time and searchable by the contact's name or address (``?q=``)."""
    search = SubscriptionSearchForm(formdata=request.args)
    valid = search.validate()
    text = (search.q.data or "") if valid else ""
    contact_id = request.args.get("contact", type=parse_id)
    contact = db.session.get(Contact, contact_id) if contact_id else None
    if contact_id and contact is None:
        abort(404)
    form = SubscriptionForm()
    _fill(form, _contact_choices(contact, text))
    if request.method == "GET" and contact is not None:
        form.contact.data = contact.id
    if form.validate_on_submit():
        contact = db.session.get(Contact, form.contact.data)
        kind_or_service, _sep, value = form.target.data.partition(":")
        service = db.session.get(Service, int(value)) if kind_or_service == "service" else None
        kind = NoticeKind(value) if kind_or_service == "kind" else None
        try:
            services.subscribe(  # type: ignore[arg-type]
                db.session, contact, service=service, kind=kind, frequency=Frequency(form.frequency.data)
            )
        except services.SubscriptionError as error:
            db.session.rollback()
            form.target.errors = [str(error)]
        else:
            db.session.commit()
            flash(_("Prenumerationen är sparad."), "success")
            return redirect(url_for("subscriptions.subscription_list", contact=contact_id))
    status = 400 if request.method == "POST" or not valid else 200
    page = services.subscription_page(
        db.session,
        contact,
        text=text,
        page=request.args.get("page", 1, type=parse_id),
        per_page=current_app.config["PAGE_SIZE"],
    )
    return render_template(
        "subscriptions/list.html",
        page=page,
        search=search,
        query={key: value for key, value in request.args.items() if key != "page" and value},
        describe=services.describe,
        frequency_labels=FREQUENCY_LABELS,
        contact=contact,
        form=form,
        action_form=ConfirmForm(),
    ), status


@bp.post("/subscriptions/<int:subscription_id>/delete")
def delete_subscription(subscription_id: int):
    subscription = db.get_or_404(Subscription, subscription_id)
    if ConfirmForm().validate_on_submit():
        db.session.delete(subscription)
        db.session.commit()
        flash(_("Prenumerationen är borttagen."), "success")
    return redirect(url_for("subscriptions.subscription_list"))


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@public
def unsubscribe(token: str):
    """GET shows a button (link scanners must not unsubscribe anyone); POST is the RFC 8058
    one-click request from the mail client, or that button."""
    email = services.email_from_token(token)
    if email is None:
        abort(404, _("Länken är ogiltig."))
    if request.method == "POST":
        services.unsubscribe(db.session, email)
        db.session.commit()
        return render_template("subscriptions/unsubscribed.html", email=email, token=token)
    return render_template(
        "subscriptions/unsubscribe.html", email=email, done=services.is_unsubscribed(db.session, email)
    )


@bp.post("/unsubscribe/<token>/undo")
@public
def undo_unsubscribe(token: str):
    """The person changed their mind: the same signed link turns mail back on."""
    email = services.email_from_token(token)
    if email is None:
        abort(404, _("Länken är ogiltig."))
    services.resubscribe(db.session, email)
    db.session.commit()
    return render_template(
        "subscriptions/unsubscribe.html", email=email, done=False, token=token, undone=True
    )


# --- self-service sign-up ----------------------------------------------------------------


def _services() -> list[Service]:
    return list(db.session.scalars(select(Service).order_by(Service.position, Service.name)))


def _choices(form: SubscribeForm | PreferencesForm) -> services.Choices:
    return services.Choices(
        tuple(form.services.data or ()),
        tuple(NoticeKind(k) for k in form.kinds.data or ()),
        Frequency(form.frequency.data),
    )


def _subscribe_limit() -> str:
    return current_app.config["SUBSCRIBE_RATE_LIMIT"]


def _too_many() -> str:
    return _("För många anmälningar från din anslutning. Försök igen om en stund.")


@bp.route("/subscribe", methods=["GET", "POST"])
@public
@limiter.limit(_subscribe_limit, methods=["POST"], error_message=_too_many)
def subscribe():
    """The public sign-up. The answer is the same page whether or not the address is
    known, so the form cannot be used to find out who is on the list."""
    form = SubscribeForm()
    form.set_services(_services())
    if request.method == "GET" and str(get_locale()) in dict(form.language.choices):
        form.language.data = str(get_locale())  # an English page offers English mail
    if form.validate_on_submit():
        services.request_subscription(
            db.session,
            email=form.email.data,
            name=form.name.data,
            organisation=form.organisation.data or "",
            language=form.language.data,
            choices=_choices(form),
        )
        db.session.commit()
        return render_template("subscriptions/subscribe_sent.html", email=form.email.data)
    status = 400 if request.method == "POST" else 200
    return render_template("subscriptions/subscribe.html", form=form), status


@bp.route("/subscribe/confirm/<token>", methods=["GET", "POST"])
@public
def confirm(token: str):
    """GET shows a button (link scanners must not confirm anything); POST confirms."""
    try:
        pending = services.pending_for_token(db.session, token)
    except services.LinkExpired as error:
        return render_template("subscriptions/link_problem.html", message=str(error)), 410
    except services.SubscriptionError as error:
        return render_template("subscriptions/link_problem.html", message=str(error)), 404
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            contact = services.confirm_subscription(db.session, token)
            db.session.commit()
        except IntegrityError:
            # Confirmed twice at the same moment: the other request created the contact.
            db.session.rollback()
            contact = services.confirm_subscription(db.session, token)
            db.session.commit()
        return redirect(services.preferences_url(contact.id).removeprefix(current_app.config["BASE_URL"]))
    return render_template("subscriptions/confirm.html", pending=pending, form=form)


# --- preferences without log-in ----------------------------------------------------------


def _contact_or_problem(token: str):  # type: ignore[no-untyped-def]
    try:
        return services.contact_from_preferences_token(db.session, token), None
    except services.LinkExpired as error:
        return None, (
            render_template("subscriptions/link_problem.html", message=str(error), expired=True),
            410,
        )
    except services.SubscriptionError as error:
        return None, (render_template("subscriptions/link_problem.html", message=str(error)), 404)


def _preferences_page(  # type: ignore[no-untyped-def]
    token: str,
    contact: Contact,
    form: PreferencesForm | None = None,
    status: int = 200,
    role_form: RoleDigestForm | None = None,
):
    subscriptions = services.list_subscriptions(db.session, contact)
    if form is None:
        current = services.current_choices(subscriptions)
        form = PreferencesForm(
            formdata=None,
            services=list(current.service_ids),
            kinds=[k.value for k in current.kinds],
            frequency=current.frequency.value,
        )
    form.set_services(_services())
    profile = services.profiles_by_contact(db.session, [contact.id]).get(contact.id)
    roles = services.role_reasons(db.session, contact)
    if role_form is None:
        role_digest = profile.role_digest if profile else Frequency.immediate
        role_form = RoleDigestForm(formdata=None, role_digest=role_digest.value)
    return render_template(
        "subscriptions/preferences.html",
        token=token,
        contact=contact,
        subscriptions=subscriptions,
        describe=services.describe,
        frequency_labels=FREQUENCY_LABELS,
        form=form,
        role_form=role_form,
        roles=roles,
        open_request=services.open_role_request(db.session, contact),
        action_form=ConfirmForm(),
    ), status


def _act_on_preferences(  # type: ignore[no-untyped-def]
    token: str,
    form: BaseForm,
    act: Callable[[Contact, Any], object],
    done: str,
    refused: Callable[[Contact, Any], Any] | None = None,
):
    """What every change on the preferences page does: the link's contact (or why the
    link does not work), the form checked, the change made and committed, a message, and
    back to the page. A refused form goes to ``refused`` (or back to the page)."""
    contact, problem = _contact_or_problem(token)
    if problem:
        return problem
    if form.validate_on_submit():
        act(contact, form)
        db.session.commit()
        flash(done, "success")
    elif refused is not None:
        return refused(contact, form)
    return redirect(url_for("subscriptions.preferences", token=token))


@bp.route("/preferences/<token>", methods=["GET", "POST"])
@public
def preferences(token: str):
    if request.method == "GET":
        contact, problem = _contact_or_problem(token)
        return problem or _preferences_page(token, contact)
    form = PreferencesForm()
    form.set_services(_services())
    return _act_on_preferences(
        token,
        form,
        lambda contact, form: services.set_subscriptions(db.session, contact, _choices(form)),
        _("Dina prenumerationer är sparade."),
        refused=lambda contact, form: _preferences_page(token, contact, form, 400),
    )


@bp.post("/preferences/<token>/end")
@public
def end_all(token: str):
    return _act_on_preferences(
        token,
        ConfirmForm(),
        lambda contact, _form: services.set_subscriptions(
            db.session, contact, services.Choices((), (), Frequency.immediate)
        ),
        _("Du har inga egna prenumerationer längre."),
    )


@bp.post("/preferences/<token>/role-digest")
@public
def role_digest(token: str):
    return _act_on_preferences(
        token,
        RoleDigestForm(),
        lambda contact, form: services.set_role_digest(db.session, contact, Frequency(form.role_digest.data)),
        _("Ditt val är sparat."),
        refused=lambda contact, form: _preferences_page(token, contact, status=400, role_form=form),
    )


@bp.post("/preferences/<token>/role-request")
@public
def role_request(token: str):
    """ "Jag har inte längre den här rollen": the coordinators decide; mail goes on until then."""
    return _act_on_preferences(
        token,
        ConfirmForm(),
        lambda contact, _form: services.request_role_change(
            db.session, contact, services.role_reasons(db.session, contact)
        ),
        _("Tack! Samordnarna har fått ditt besked och hör av sig om det behövs."),
    )


@bp.route("/one-click/<token>", methods=["GET", "POST"])
@public
def one_click(token: str):
    """RFC 8058: the mail client's POST ends the subscriptions the mail came through at
    once (no session, no form token); a GET (a person, or a link scanner) only asks."""
    try:
        contact, scope = services.one_click_target(db.session, token)
    except services.SubscriptionError as error:
        return render_template("subscriptions/link_problem.html", message=str(error)), 404
    if request.method == "POST":
        services.end_by_one_click(db.session, contact, scope)
        db.session.commit()
        return render_template(
            "subscriptions/one_click.html", done=True, preferences_url=services.preferences_url(contact.id)
        )
    return render_template(
        "subscriptions/one_click.html", done=False, preferences_url=services.preferences_url(contact.id)
    )


# --- for coordinators --------------------------------------------------------------------


@bp.get("/subscriptions/requests")
def requests_list():
    """Every opt-out and role request, newest first; open role requests on top."""
    page = max(request.args.get("page", 1, type=parse_id), 1)
    size = current_app.config["PAGE_SIZE"]
    return render_template(
        "subscriptions/requests.html",
        role_requests=services.list_role_requests(db.session, limit=size, offset=(page - 1) * size),
        opt_outs=services.list_opt_outs(db.session, limit=size, offset=(page - 1) * size),
        page=page,
        action_form=ConfirmForm(),
    )


@bp.post("/subscriptions/requests/<int:request_id>/handled")
def handle_request(request_id: int):
    role_request = db.get_or_404(RoleRequest, request_id)
    if ConfirmForm().validate_on_submit():
        services.handle_role_request(db.session, role_request, current_user)
        db.session.commit()
        flash(_("Begäran är markerad som hanterad."), "success")
    return redirect(local_path(request.form.get("next"), url_for("subscriptions.requests_list")))
