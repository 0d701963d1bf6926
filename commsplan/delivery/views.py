"""Delivery status: what was sent to whom, what failed and why; retry with one click."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from werkzeug.routing import BuildError

from commsplan.auth.guard import may
from commsplan.delivery import services
from commsplan.delivery.models import DeliveryState, MessageKind, OutgoingMessage, SourceType
from commsplan.extensions import db
from commsplan.forms import ConfirmForm
from commsplan.inputs import parse_id
from commsplan.meetings.models import Occurrence
from commsplan.notices.models import Notice
from commsplan.timeutil import local

bp = Blueprint("delivery", __name__, url_prefix="/delivery")

STATE_LABELS = {
    DeliveryState.queued: _l("I kö"),
    DeliveryState.sending: _l("Skickas"),
    DeliveryState.retrying: _l("Försöker igen"),
    DeliveryState.sent: _l("Skickat"),
    DeliveryState.failed: _l("Misslyckades"),
    DeliveryState.cancelled: _l("Avbrutet"),
}
KIND_LABELS = {
    MessageKind.notice: _l("Meddelande"),
    MessageKind.notice_update: _l("Uppdatering"),
    MessageKind.reminder: _l("Påminnelse"),
    MessageKind.invitation: _l("Inbjudan"),
    MessageKind.invitation_update: _l("Ändrad inbjudan"),
    MessageKind.invitation_cancel: _l("Inställt möte"),
    MessageKind.registration: _l("Anmälan"),
    MessageKind.registration_update: _l("Ändrad anmälan"),
    MessageKind.registration_confirm: _l("Bekräftelselänk för anmälan"),
}
# Where the thing a message is about is shown: source_type → (endpoint, id argument).
SOURCE_PAGES = {
    SourceType.notice: ("notices.notice_detail", "notice_id"),
    SourceType.occurrence: ("meetings.occurrence_detail", "occurrence_id"),
}
SOURCE_MODELS: dict[SourceType, type[db.Model]] = {
    SourceType.notice: Notice,
    SourceType.occurrence: Occurrence,
}
# Only known sources match the URL: anything else is a 404 from the router itself.
SOURCE_CONVERTER = "any(" + ", ".join(t.value for t in SourceType) + ")"


def _source_url(source_type: str, source_id: int | None) -> str | None:
    page = SOURCE_PAGES.get(source_type)
    if page is None or source_id is None or page[0] not in current_app.view_functions:
        return None
    try:
        return url_for(page[0], **{page[1]: source_id})
    except BuildError:
        return None


def _delivery_url(message: OutgoingMessage) -> str:
    if message.source_type and message.source_id is not None:
        return url_for(
            "delivery.source_delivery", source_type=message.source_type, source_id=message.source_id
        )
    return url_for("delivery.message_delivery", message_id=message.id)


def _page() -> int:
    return max(request.args.get("page", 1, type=parse_id) or 1, 1)


def _state_filter() -> DeliveryState | None:
    value = request.args.get("state", "")
    if not value:
        return None
    try:
        return DeliveryState(value)
    except ValueError:
        abort(400, _("Okänt leveransläge."))


@bp.app_context_processor
def inject_labels() -> dict[str, object]:
    return {
        "delivery_state_label": lambda state: str(STATE_LABELS.get(state, state)),
        "delivery_kind_label": kind_label,
        "delivery_reason": reason_label,
        "failed_state": DeliveryState.failed,
    }


def kind_label(kind: str) -> str:
    label = KIND_LABELS.get(kind)  # type: ignore[call-overload]
    return str(label) if label is not None else _("Utskick")


def reason_label(reason: str) -> str:
    """Invitations store their kind as the reason: show its label, not the code."""
    label = KIND_LABELS.get(reason)  # type: ignore[call-overload]
    return str(label) if label is not None else reason


@bp.app_template_filter("delivery_time")
def delivery_time(value: datetime | None) -> str:
    return local(value).strftime("%Y-%m-%d %H:%M") if value else ""


@bp.get("/")
def overview():
    page = _page()
    size = current_app.config["PAGE_SIZE"]
    messages = services.recent_messages(db.session, limit=size, offset=(page - 1) * size)
    total = services.count_messages(db.session)
    counts = services.counts_for_messages(db.session, [m.id for m in messages])
    return render_template(
        "delivery/overview.html",
        messages=messages,
        counts=counts,
        states=services.COUNTED_STATES,
        delivery_url=_delivery_url,
        page=page,
        has_next=page * size < total,
    )


def _render_detail(
    *,
    title: str,
    messages: list[OutgoingMessage],
    counts: dict[DeliveryState, int],
    items_loader,  # type: ignore[no-untyped-def]
    retry_url: str,
    source_url: str | None,
    status: int = 200,
):
    page = _page()
    size = current_app.config["PAGE_SIZE"]
    state = _state_filter()
    rows = items_loader(state=state, limit=size + 1, offset=(page - 1) * size)
    return (
        render_template(
            "delivery/detail.html",
            title=title,
            messages=messages,
            counts=counts,
            states=services.COUNTED_STATES,
            items=rows[:size],
            has_next=len(rows) > size,
            page=page,
            state=state,
            retry_url=retry_url,
            source_url=source_url,
            form=ConfirmForm(),
            can_retry=may("delivery.retry_source"),
        ),
        status,
    )


@bp.get("/notice/<int:notice_id>")
def notice_delivery(notice_id: int):
    return source_delivery("notice", notice_id)


@bp.get(f"/<{SOURCE_CONVERTER}:source_type>/<int:source_id>")
def source_delivery(source_type: str, source_id: int):
    messages = services.messages_for(db.session, source_type, source_id)
    if not messages and db.session.get(SOURCE_MODELS[SourceType(source_type)], source_id) is None:
        abort(404)
    # Nothing sent yet is a normal state for a draft: show empty counts, not 404.
    title = _("Leverans: %(subject)s", subject=messages[0].subject) if messages else _("Leverans")
    return _render_detail(
        title=title,
        messages=messages,
        counts=services.counts_for(db.session, source_type, source_id),
        items_loader=lambda **kw: services.items_for(db.session, source_type, source_id, **kw),
        retry_url=url_for("delivery.retry_source", source_type=source_type, source_id=source_id),
        source_url=_source_url(source_type, source_id),
    )


@bp.get("/message/<int:message_id>")
def message_delivery(message_id: int):
    message = db.get_or_404(OutgoingMessage, message_id)
    return _render_detail(
        title=_("Leverans: %(subject)s", subject=message.subject),
        messages=[message],
        counts=services.counts_for_messages(db.session, [message.id])[message.id],
        items_loader=lambda **kw: services.items_for_message(db.session, message.id, **kw),
        retry_url=url_for("delivery.retry_message", message_id=message.id),
        source_url=_source_url(message.source_type, message.source_id),
    )


def _after_retry(count: int, target: str):
    if count:
        flash(
            ngettext(
                "%(num)d mottagare står i kö igen och skickas strax.",
                "%(num)d mottagare står i kö igen och skickas strax.",
                count,
            ),
            "success",
        )
    else:
        flash(_("Det fanns inga misslyckade utskick att försöka igen."), "info")
    return redirect(target)


@bp.post(f"/<{SOURCE_CONVERTER}:source_type>/<int:source_id>/retry")
def retry_source(source_type: str, source_id: int):
    target = url_for("delivery.source_delivery", source_type=source_type, source_id=source_id)
    if not ConfirmForm().validate_on_submit():
        abort(400, _("Formuläret har gått ut. Ladda om sidan och försök igen."))
    return _after_retry(services.retry_failed(db.session, source_type, source_id), target)


@bp.post("/message/<int:message_id>/retry")
def retry_message(message_id: int):
    message = db.get_or_404(OutgoingMessage, message_id)
    target = url_for("delivery.message_delivery", message_id=message.id)
    if not ConfirmForm().validate_on_submit():
        abort(400, _("Formuläret har gått ut. Ladda om sidan och försök igen."))
    return _after_retry(services.retry_failed_message(db.session, message.id), target)
