"""Calendar feed endpoints (public, by token), the subscriptions page and invitations."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from email.utils import format_datetime

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from commsplan.auth.guard import may, public, role_required
from commsplan.auth.models import Role
from commsplan.extensions import db
from commsplan.feeds import invitations, services
from commsplan.feeds.forms import FeedContactSearchForm
from commsplan.feeds.models import REGION_TARGET, FeedKind, FeedToken
from commsplan.forms import ConfirmForm
from commsplan.inputs import parse_id
from commsplan.meetings.models import MeetingSeries
from commsplan.plan.crud import ContactFilter, search_contacts
from commsplan.plan.models import Contact
from commsplan.redirects import local_path
from commsplan.timeutil import local

bp = Blueprint("feeds", __name__, url_prefix="/feeds")


# --- the feeds -------------------------------------------------------------------------


def _serve(kind: FeedKind, token_value: str) -> Response:
    session = db.session
    try:
        token = services.resolve_token(session, kind, token_value)
        target = services.target_for(session, token)
    except services.FeedNotFound:
        abort(404)
    version = target.version()
    state = services.current_state(session, version)
    headers = {
        "ETag": f'"{state.etag}"',
        "Last-Modified": format_datetime(state.last_modified, usegmt=True),
        # Private (the URL is a secret) and always revalidated: the 304 is cheap.
        "Cache-Control": "private, no-cache",
        "X-Robots-Tag": "noindex",
    }
    if _not_modified(state):
        return Response(status=304, headers=headers)
    body, last_modified = services.feed_body(session, version, target.build)
    session.commit()
    headers["Last-Modified"] = format_datetime(last_modified, usegmt=True)
    headers["Content-Disposition"] = f'inline; filename="{kind.value}.ics"'
    return Response(body, status=200, headers=headers, content_type="text/calendar; charset=utf-8")


def _not_modified(state: services.CachedState) -> bool:
    # RFC 9110 §13.2.2: If-None-Match wins; If-Modified-Since only counts without it.
    if request.if_none_match:
        return request.if_none_match.contains_weak(state.etag)
    since = request.if_modified_since
    return since is not None and state.last_modified.replace(microsecond=0) <= since


@bp.get("/series/<token>.ics")
@public
def series_feed(token: str) -> Response:
    return _serve(FeedKind.series, token)


@bp.get("/contact/<token>.ics")
@public
def contact_feed(token: str) -> Response:
    return _serve(FeedKind.contact, token)


@bp.get("/region/<token>.ics")
@public
def region_feed(token: str) -> Response:
    return _serve(FeedKind.region, token)


# --- links in pages --------------------------------------------------------------------

_FEED_ENDPOINTS = {
    FeedKind.series: "feeds.series_feed",
    FeedKind.contact: "feeds.contact_feed",
    FeedKind.region: "feeds.region_feed",
}


@dataclass(frozen=True)
class FeedLinks:
    kind: FeedKind
    target_id: int
    token: FeedToken | None
    https_url: str
    webcal_url: str


def _links(kind: FeedKind, target_id: int, token: FeedToken | None) -> FeedLinks:
    if token is None:
        return FeedLinks(kind, target_id, None, "", "")
    # BASE_URL, not the request's host: the link must work from the calendar program.
    https_url = services.external_url(_FEED_ENDPOINTS[kind], token=token.token) or ""
    webcal_url = "webcal://" + https_url.split("://", 1)[1]
    return FeedLinks(kind, target_id, token, https_url, webcal_url)


def feed_links(kind: str, target_id: int = REGION_TARGET) -> FeedLinks:
    """For templates: the subscription links of one feed (made on first view)."""
    feed_kind = FeedKind(kind)
    session = db.session
    token = services.live_token(session, feed_kind, target_id)
    if token is None:
        token = services.ensure_token(session, feed_kind, target_id)
        if token is not None:
            # A page view may make the first link; keep it, or the next view shows another.
            session.commit()
    return _links(feed_kind, target_id, token)


def can_manage_feeds() -> bool:
    return may("feeds.create_token")


@bp.app_context_processor
def inject_feed_links() -> dict[str, object]:
    return {"feed_links": feed_links, "can_manage_feeds": can_manage_feeds}


def _safe_next(default: str) -> str:
    return local_path(request.values.get("next"), default)


@bp.get("/")
def subscriptions():
    """The region's, every series' and one page of the contacts' feed links (searchable:
    a region has thousands of contacts)."""
    session = db.session
    search = FeedContactSearchForm(formdata=request.args)
    valid = search.validate()
    criteria = ContactFilter(text=(search.q.data or "") if valid else "", active=True)
    page = search_contacts(
        session,
        criteria,
        page=request.args.get("page", 1, type=parse_id),
        per_page=current_app.config["PAGE_SIZE"],
    )
    series = session.scalars(select(MeetingSeries).order_by(MeetingSeries.title)).all()
    series_tokens = services.tokens_for(session, FeedKind.series, [s.id for s in series])
    contact_tokens = services.tokens_for(session, FeedKind.contact, [c.id for c in page.items])
    region = services.ensure_token(session, FeedKind.region)
    query = {key: value for key, value in request.args.items() if key != "page" and value}
    # Rendered before the commit that keeps links made on this view: a commit expires
    # every row, and reading them again would cost a query per row.
    html = render_template(
        "feeds/subscriptions.html",
        region=_links(FeedKind.region, REGION_TARGET, region),
        series=[(s, _links(FeedKind.series, s.id, series_tokens[s.id])) for s in series],
        contacts=[(c, _links(FeedKind.contact, c.id, contact_tokens[c.id])) for c in page.items],
        page=page,
        search=search,
        query=query,
        form=ConfirmForm(),
    )
    session.commit()
    return html, (200 if valid else 400)


# --- managing tokens -------------------------------------------------------------------


def _feed_label(kind: FeedKind, target_id: int) -> str:
    session = db.session
    if kind is FeedKind.series:
        series = session.get(MeetingSeries, target_id)
        return _("Mötesserien %(title)s", title=series.title) if series else _("Borttagen mötesserie")
    if kind is FeedKind.contact:
        contact = session.get(Contact, target_id)
        return _("Möten för %(name)s", name=contact.name) if contact else _("Borttagen kontakt")
    return _("Regionens samlade kalender")


def _confirm_token_change(
    token_id: int,
    change: Callable[[Session, FeedToken], object],
    *,
    title: str,
    explanation: str,
    button: str,
    danger: bool,
    done: str,
    already_done: str,
):
    """Confirmation page, then ``change`` on the token: regenerate and revoke share it.

    ``change`` answers falsy when the token was no longer live (a double submit, or the
    same change made by someone else at the same moment): that is answered like a
    success, with ``already_done``, not as an error.
    """
    token = db.session.get(FeedToken, token_id)
    if token is None:
        abort(404)
    form = ConfirmForm()
    back = _safe_next(url_for("feeds.subscriptions"))
    if form.validate_on_submit():
        changed = token.is_live and change(db.session, token)
        db.session.commit()
        if changed:
            flash(done, "success")
        else:
            flash(already_done, "info")
        return redirect(back)
    if not token.is_live:
        abort(404)
    return render_template(
        "feeds/confirm.html",
        title=title,
        feed_label=_feed_label(token.kind, token.target_id),
        explanation=explanation,
        button=button,
        danger=danger,
        form=form,
        cancel_url=back,
    )


@bp.route("/tokens/<int:token_id>/regenerate", methods=["GET", "POST"])
@role_required(Role.coordinator)
def regenerate(token_id: int):
    return _confirm_token_change(
        token_id,
        services.regenerate_token,
        title=_("Skapa ny prenumerationslänk"),
        explanation=_(
            "Den nuvarande länken slutar fungera direkt. Alla som prenumererar med den måste "
            "lägga till den nya länken i sitt kalenderprogram."
        ),
        button=_("Ja, skapa ny länk"),
        danger=False,
        done=_("En ny länk är skapad. Den gamla länken fungerar inte längre."),
        already_done=_("Länken var redan ersatt eller återkallad. Den gamla länken fungerar inte längre."),
    )


@bp.route("/tokens/<int:token_id>/revoke", methods=["GET", "POST"])
@role_required(Role.coordinator)
def revoke(token_id: int):
    return _confirm_token_change(
        token_id,
        services.revoke_token,
        title=_("Återkalla prenumerationslänk"),
        explanation=_(
            "Länken slutar fungera direkt och ingen ny skapas förrän någon gör det här. "
            "Kalenderprogram som prenumererar får inga fler uppdateringar."
        ),
        button=_("Ja, återkalla länken"),
        danger=True,
        done=_("Länken är återkallad. Kalendern kan inte längre prenumereras på förrän en ny länk skapas."),
        already_done=_("Länken var redan återkallad."),
    )


@bp.post("/<kind>/<int:target_id>/token")
def create_token(kind: str, target_id: int):
    try:
        feed_kind = FeedKind(kind)
    except ValueError:
        abort(404)
    if ConfirmForm().validate_on_submit():
        services.create_token(db.session, feed_kind, target_id)
        db.session.commit()
        flash(_("En ny prenumerationslänk är skapad."), "success")
    return redirect(_safe_next(url_for("feeds.subscriptions")))


# --- invitations -----------------------------------------------------------------------


@bp.route("/series/<int:series_id>/invite", methods=["GET", "POST"])
@role_required(Role.coordinator)
def invite(series_id: int):
    series = db.session.get(MeetingSeries, series_id)
    if series is None:
        abort(404)
    form = ConfirmForm()
    back = _safe_next(url_for("feeds.subscriptions"))
    plan = invitations.plan_invitations(db.session, series)
    if form.validate_on_submit():
        if plan.mails == 0:
            flash(_("Det finns inga nya inbjudningar att skicka."), "info")
            return redirect(back)
        queued = invitations.send_invitations(db.session, series)
        db.session.commit()
        flash(
            ngettext(
                "%(num)d inbjudan lades i utkorgen och skickas nu.",
                "%(num)d inbjudningar lades i utkorgen och skickas nu.",
                queued,
            ),
            "success",
        )
        return redirect(back)
    return render_template(
        "feeds/invite.html", series=series, plan=plan, form=form, cancel_url=back, local=local
    )


@bp.post("/series/<int:series_id>/updates")
def send_updates(series_id: int):
    """Send changes of the series' occurrences to everyone already invited."""
    series = db.session.get(MeetingSeries, series_id)
    if series is None:
        abort(404)
    if ConfirmForm().validate_on_submit():
        queued = invitations.send_series_updates(db.session, series)
        db.session.commit()
        if queued:
            flash(
                ngettext(
                    "%(num)d uppdatering lades i utkorgen.", "%(num)d uppdateringar lades i utkorgen.", queued
                ),
                "success",
            )
        else:
            flash(_("Inga ändringar att skicka: alla inbjudna har den senaste versionen."), "info")
    return redirect(_safe_next(url_for("feeds.subscriptions")))
