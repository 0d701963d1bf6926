"""Relay pages: the review queue, an item with its guess and mapping, sources and paste."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from commsplan.audience.services import included
from commsplan.auth.guard import readable
from commsplan.extensions import db
from commsplan.forms import ConfirmForm
from commsplan.i18n import TranslatedLabels
from commsplan.inputs import parse_id
from commsplan.kinds import NoticeKind
from commsplan.notices import services as notices
from commsplan.notices import texts
from commsplan.notices.models import Notice
from commsplan.relay import services
from commsplan.relay.forms import AutoPublishForm, DismissForm, MergeForm, PasteForm, SourceForm
from commsplan.relay.labels import ITEM_STATE_LABELS, SOURCE_KIND_LABELS
from commsplan.relay.models import ItemState, RelayItem, RelaySource, SourceKind
from commsplan.removal import confirm_removal

bp = Blueprint("relay", __name__, url_prefix="/relay")

RULE_FORM_PATH = "/relay/rules/new"


@bp.app_context_processor
def relay_labels() -> dict[str, object]:
    return {
        "ITEM_STATE_LABELS": TranslatedLabels(ITEM_STATE_LABELS),
        "SOURCE_KIND_LABELS": TranslatedLabels(SOURCE_KIND_LABELS),
    }


def _rule_form_endpoint() -> str | None:
    """The rule form of the mapping rules (helper `understanding`'s blueprint), if present."""
    for rule in current_app.url_map.iter_rules():
        if rule.rule == RULE_FORM_PATH:
            return rule.endpoint
    return None


@bp.get("/")
def queue():
    state_arg = request.args.get("state") or None
    try:
        state = ItemState(state_arg) if state_arg else None
    except ValueError:
        abort(400, _("Okänt filter."))
    page = request.args.get("page", 1, type=parse_id)
    items, more = services.queue(db.session, state, page)
    return render_template("relay/queue.html", items=items, state=state_arg, page=page, more=more)


def _item_or_404(item_id: int) -> RelayItem:
    return db.get_or_404(RelayItem, item_id)


@bp.get("/items/<int:item_id>")
def item_detail(item_id: int):
    item = _item_or_404(item_id)
    return _item_page(item)


def _item_page(item: RelayItem, merge_form: MergeForm | None = None, dismiss_form: DismissForm | None = None):
    guess = services.guess_for(db.session, item)
    notice = item.notice
    people = included(notices.recipients(db.session, notice)) if notice is not None else []
    blockers = notices.publish_blockers(db.session, notice) if notice is not None and notice.is_draft else {}
    merge_form = merge_form or MergeForm()
    merge_form.notice.choices = [(n.id, n.title) for n in services.merge_candidates(db.session, item)]
    endpoint = _rule_form_endpoint()
    rule_links = []
    if endpoint is not None:
        here = url_for("relay.item_detail", item_id=item.id)
        patterns = list(guess.understanding.services) or ([item.subject[:200]] if item.subject else [])
        rule_links = [(p, f"{RULE_FORM_PATH}?{urlencode({'pattern': p, 'next': here})}") for p in patterns]
    status = 400 if request.method == "POST" else 200
    return render_template(
        "relay/item.html",
        item=item,
        guess=guess,
        notice=notice,
        recipient_count=len(people),
        blockers=blockers,
        merge_form=merge_form,
        dismiss_form=dismiss_form or DismissForm(),
        action_form=ConfirmForm(),
        rule_endpoint=endpoint,
        mapping_differs=services.mapping_differs(item, guess),
        rule_links=rule_links,
    ), status


@bp.post("/items/<int:item_id>/publish")
def publish_item(item_id: int):
    item = _item_or_404(item_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        count = services.publish_item(db.session, item, current_user)
    except services.RelayError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("relay.item_detail", item_id=item.id))
    db.session.commit()
    flash(texts.published(count), "success")
    return redirect(url_for("relay.item_detail", item_id=item.id))


@bp.post("/items/<int:item_id>/merge")
def merge_item(item_id: int):
    item = _item_or_404(item_id)
    form = MergeForm()
    form.notice.choices = [(n.id, n.title) for n in services.merge_candidates(db.session, item)]
    if form.validate_on_submit():
        target = db.session.get(Notice, form.notice.data)
        try:
            if target is None:
                raise services.RelayError(_("Meddelandet finns inte."), "notice")
            services.merge_item(db.session, item, target, current_user)
        except services.RelayError as error:
            db.session.rollback()
            form.notice.errors = [str(error)]
        else:
            db.session.commit()
            flash(_("Posten är skickad som uppdatering av %(title)s.", title=target.title), "success")
            return redirect(url_for("notices.notice_detail", notice_id=target.id))
    return _item_page(_item_or_404(item_id), merge_form=form)


@bp.post("/items/<int:item_id>/dismiss")
def dismiss_item(item_id: int):
    item = _item_or_404(item_id)
    form = DismissForm()
    if form.validate_on_submit():
        try:
            services.dismiss_item(db.session, item, form.reason.data or "")
        except services.RelayError as error:
            db.session.rollback()
            form.reason.errors = [str(error)]
        else:
            db.session.commit()
            flash(_("Posten är avfärdad."), "success")
            return redirect(url_for("relay.queue"))
    return _item_page(_item_or_404(item_id), dismiss_form=form)


@bp.post("/items/<int:item_id>/apply-mapping")
def apply_mapping(item_id: int):
    item = _item_or_404(item_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.apply_mapping(db.session, item)
    except services.RelayError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("Utkastet har fått e-tjänsterna och systemen från reglerna."), "success")
    return redirect(url_for("relay.item_detail", item_id=item.id))


@bp.post("/items/<int:item_id>/send-change")
def send_change(item_id: int):
    item = _item_or_404(item_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.send_change(db.session, item, current_user)
    except services.RelayError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("Ändringen är skickad som uppdatering."), "success")
    return redirect(url_for("relay.item_detail", item_id=item.id))


@bp.route("/paste", methods=["GET", "POST"])
def paste():
    form = PasteForm()
    if form.validate_on_submit():
        try:
            outcome, item = services.paste(db.session, form.text.data or "", current_user)
        except services.RelayError as error:
            db.session.rollback()
            form.text.errors = [str(error)]
        else:
            db.session.commit()
            messages = {
                "new": _("Ett utkast är gjort av texten."),
                "updated": _("Texten ändrade en tidigare post."),
                "duplicate": _("Samma innehåll finns redan; inget nytt utkast."),
                "unchanged": _("Texten är redan inläst."),
            }
            flash(messages.get(outcome, _("Leveransrapporten är läst.")), "success")
            if item is not None:
                return redirect(url_for("relay.item_detail", item_id=item.id))
            return redirect(url_for("relay.queue"))
    status = 400 if request.method == "POST" else 200
    return render_template("relay/paste.html", form=form), status


# --- sources -----------------------------------------------------------------------------


@bp.get("/sources")
def source_list():
    return render_template(
        "relay/sources.html",
        sources=services.list_sources(db.session),
        healthy=services.source_healthy,
        action_form=ConfirmForm(),
    )


def _settings_from(form: SourceForm) -> dict[str, object]:
    if form.kind_value is SourceKind.feed:
        return services.feed_settings(form.url.data or "", form.interval_minutes.data)
    return services.imap_settings(
        form.host.data or "",
        form.port.data,
        form.user.data or "",
        form.password_env.data or "",
        form.folder.data or "INBOX",
        tls=bool(form.tls.data),
        move_to=form.move_to.data or "",
        interval_minutes=form.interval_minutes.data,
    )


@bp.route("/sources/new", methods=["GET", "POST"])
def create_source():
    form = SourceForm()
    if form.validate_on_submit():
        try:
            source = services.add_source(
                db.session,
                form.name.data or "",
                form.kind_value,
                _settings_from(form),
                [NoticeKind(k) for k in form.auto_publish.data or []],
            )
        except services.RelayError as error:
            db.session.rollback()
            target = getattr(form, error.field or "", None)
            if target is not None:
                target.errors = [str(error)]
            else:
                form.form_errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Källan %(name)s är tillagd.", name=source.name), "success")
            return redirect(url_for("relay.source_detail", source_id=source.id))
    status = 400 if request.method == "POST" else 200
    return render_template("relay/source_form.html", form=form), status


def _source_or_404(source_id: int) -> RelaySource:
    return db.get_or_404(RelaySource, source_id)


@bp.route("/sources/<int:source_id>", methods=["GET", "POST"])
@readable
def source_detail(source_id: int):
    source = _source_or_404(source_id)
    form = AutoPublishForm()
    if request.method == "GET":
        form.auto_publish.data = source.auto_publish
    elif form.validate_on_submit():
        services.set_auto_publish(source, [NoticeKind(k) for k in form.auto_publish.data or []])
        db.session.commit()
        flash(_("Inställningen är sparad."), "success")
        return redirect(url_for("relay.source_detail", source_id=source.id))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "relay/source.html",
        source=source,
        form=form,
        healthy=services.source_healthy(source),
        action_form=ConfirmForm(),
    ), status


@bp.post("/sources/<int:source_id>/poll")
def poll_source(source_id: int):
    source = _source_or_404(source_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if source.kind is SourceKind.paste:
        abort(400, _("Inklistrad text läses inte av."))
    result = services.poll_source(db.session, source)
    if result.error:
        flash(_("Källan kunde inte läsas: %(error)s", error=result.error), "error")
    else:
        flash(
            _(
                "Läst: %(new)s nya, %(updated)s ändrade, %(duplicates)s dubbletter, %(bounces)s studsar.",
                new=result.new,
                updated=result.updated,
                duplicates=result.duplicates,
                bounces=result.bounces,
            ),
            "success",
        )
    return redirect(url_for("relay.source_detail", source_id=source_id))


@bp.route("/sources/<int:source_id>/remove", methods=["GET", "POST"])
def remove_source(source_id: int):
    source = _source_or_404(source_id)
    return confirm_removal(
        title=_("Ta bort källan %(name)s?", name=source.name),
        cancel_url=url_for("relay.source_detail", source_id=source.id),
        remove=lambda: services.remove_source(db.session, source),
        done=_("Källan är borttagen."),
        next_url=url_for("relay.source_list"),
    )
