"""Managing subscriptions, and the public unsubscribe link in every notice mail."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from commsplan.auth.guard import public, readable
from commsplan.extensions import db
from commsplan.forms import ConfirmForm
from commsplan.kinds import NoticeKind
from commsplan.kinds.labels import KIND_LABELS
from commsplan.plan.models import Contact, Service
from commsplan.subscriptions import services
from commsplan.subscriptions.forms import SubscriptionForm
from commsplan.subscriptions.models import Subscription

bp = Blueprint("subscriptions", __name__)


def _fill(form: SubscriptionForm) -> None:
    form.contact.choices = [
        (c.id, f"{c.name} <{c.email}>")
        for c in db.session.scalars(select(Contact).where(Contact.active.is_(True)).order_by(Contact.name))
    ]
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


@bp.route("/subscriptions", methods=["GET", "POST"])
@readable
def subscription_list():
    """All subscriptions, or one contact's (``?contact=<id>``, linked from contact pages)."""
    form = SubscriptionForm()
    _fill(form)
    contact_id = request.args.get("contact", type=int)
    contact = db.session.get(Contact, contact_id) if contact_id else None
    if contact_id and contact is None:
        abort(404)
    if request.method == "GET" and contact is not None:
        form.contact.data = contact.id
    if form.validate_on_submit():
        contact = db.session.get(Contact, form.contact.data)
        kind_or_service, _sep, value = form.target.data.partition(":")
        service = db.session.get(Service, int(value)) if kind_or_service == "service" else None
        kind = NoticeKind(value) if kind_or_service == "kind" else None
        try:
            services.subscribe(db.session, contact, service=service, kind=kind)  # type: ignore[arg-type]
        except services.SubscriptionError as error:
            db.session.rollback()
            form.target.errors = [str(error)]
        else:
            db.session.commit()
            flash(_("Prenumerationen är sparad."), "success")
            return redirect(url_for("subscriptions.subscription_list", contact=contact_id))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "subscriptions/list.html",
        subscriptions=services.list_subscriptions(db.session, contact),
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
