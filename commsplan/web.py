"""Pages that belong to no single feature: start page and language choice."""

from __future__ import annotations

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    has_request_context,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_login import current_user

from commsplan.activities import dashboard
from commsplan.auth.guard import public
from commsplan.auth.models import Role
from commsplan.extensions import db
from commsplan.forms import ConfirmForm, error_messages
from commsplan.plan import services as plan_services
from commsplan.redirects import local_path
from commsplan.timeutil import utcnow

bp = Blueprint("web", __name__)


@bp.get("/")
def index():
    """The coordinator's start page: what needs attention now."""
    now = utcnow()
    items = dashboard.attention(
        db.session, now, update_interval_minutes=int(current_app.config["OUTAGE_UPDATE_MINUTES"])
    )
    return render_template(
        "index.html",
        attention=items,
        plan=plan_services.current_plan(db.session),
        overview=plan_services.overview(db.session),
        interval=int(current_app.config["OUTAGE_UPDATE_MINUTES"]),
        now=now,
    )


@bp.post("/language/<code>")
@public
def set_language(code: str):
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    if ConfirmForm().validate_on_submit():
        session["lang"] = code
    return redirect(local_path(request.form.get("next"), url_for("web.index")))


# Navigation grouped by task, so a new coordinator finds things without a manual. Each
# entry: (endpoint, label, endpoint prefixes that mark it as current, least role). An
# entry whose endpoint does not exist (a feature not installed) is left out.
MenuEntry = tuple[str, LazyString, tuple[str, ...], Role]

MENU_GROUPS: list[tuple[str, LazyString, list[MenuEntry]]] = [
    (
        "daily",
        _l("Dagligt arbete"),
        [
            ("web.index", _l("Start"), ("web.index",), Role.viewer),
            ("notices.notice_list", _l("Meddelanden"), ("notices.",), Role.viewer),
            ("relay.queue", _l("Nationell information"), ("relay.",), Role.viewer),
            (
                "activities.activity_list",
                _l("Aktiviteter"),
                ("activities.activity", "activities.create", "activities.edit", "activities.change_status"),
                Role.viewer,
            ),
            ("activities.calendar_page", _l("Kalender"), ("activities.calendar",), Role.viewer),
            ("meetings.series_list", _l("Möten"), ("meetings.",), Role.viewer),
        ],
    ),
    (
        "plan",
        _l("Planen"),
        [
            ("plan.document", _l("Planen"), ("plan.document",), Role.viewer),
            ("plan.contact_list", _l("Kontakter"), ("plan.contact",), Role.viewer),
            ("plan.stakeholder_list", _l("Intressenter"), ("plan.stakeholder",), Role.viewer),
            ("plan.recipient_list", _l("Mottagare"), ("plan.recipient",), Role.viewer),
            ("audience.matrix", _l("Vem får vad"), ("audience.matrix",), Role.viewer),
            ("plan.channel_list", _l("Kanaler"), ("plan.channel",), Role.viewer),
            ("plan.service_list", _l("E-tjänster"), ("plan.service",), Role.viewer),
            ("plan.system_list", _l("System"), ("plan.system",), Role.viewer),
            ("plan.unit_list", _l("Enheter"), ("plan.unit",), Role.viewer),
        ],
    ),
    (
        "follow_up",
        _l("Uppföljning"),
        [
            ("activities.coverage_page", _l("Täckning"), ("activities.coverage",), Role.viewer),
            ("delivery.overview", _l("Utskick"), ("delivery.",), Role.viewer),
            ("audience.problems", _l("Adresser med problem"), ("audience.problems",), Role.viewer),
            ("subscriptions.subscription_list", _l("Prenumerationer"), ("subscriptions.",), Role.viewer),
            ("status.status_page", _l("Driftstatus"), ("status.",), Role.viewer),
        ],
    ),
    (
        "admin",
        _l("Administration"),
        [
            ("auth.users", _l("Konton"), ("auth.",), Role.admin),
            ("tokens.token_list", _l("API-tokens"), ("tokens.",), Role.viewer),
            (
                "activities.template_list",
                _l("Checklistor"),
                ("activities.template", "activities.add_question", "activities.edit_question"),
                Role.viewer,
            ),
            ("feeds.subscriptions", _l("Kalenderlänkar"), ("feeds.",), Role.viewer),
            ("audit.history", _l("Historik"), ("audit.",), Role.admin),
        ],
    ),
]

# The header's two rows: the daily work and the plan first, follow-up and administration
# beside the account.
MENU_ROWS = {"main": ("daily", "plan"), "tools": ("follow_up", "admin")}

ROLE_LABELS = {Role.viewer: _l("läsare"), Role.coordinator: _l("samordnare"), Role.admin: _l("administratör")}


MenuLinks = list[tuple[str, str, list[tuple[str, str, tuple[str, ...]]]]]


def _menu_links(row: str, role: Role, language: str) -> MenuLinks:
    """The groups of one header row for a role in a language, built once per app: the
    links, labels and entries a role may open do not change between requests, and
    building them (forty url_for and gettext calls) was a fifth of a cheap page."""
    cache: dict[tuple[str, Role, str, str], MenuLinks] = current_app.extensions.setdefault("menu_links", {})
    key = (row, role, language, request.script_root)
    if key not in cache:
        groups = []
        for group_key, group_label, entries in MENU_GROUPS:
            if group_key not in MENU_ROWS[row]:
                continue
            links = [
                (url_for(target), str(label), prefixes)
                for target, label, prefixes, least in entries
                if target in current_app.view_functions and role.allows(least)
            ]
            if links:
                groups.append((group_key, str(group_label), links))
        cache[key] = groups
    return cache[key]


def menu_groups(row: str = "main") -> list[tuple[str, str, list[tuple[str, str, bool]]]]:
    """The groups of one header row, each with the entries the current user may open and
    whether each is the current page; empty groups are left out."""
    endpoint = request.endpoint or ""
    locale = get_locale()
    groups = _menu_links(row, current_user.role, locale.language if locale else "")
    return [
        (key, label, [(url, text, endpoint.startswith(prefixes)) for url, text, prefixes in links])
        for key, label, links in groups
    ]


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.filters["error_messages"] = error_messages

    @app.context_processor
    def inject_helpers() -> dict[str, object]:
        return {
            # Templates rendered outside a request (mail from the worker) have no session,
            # and a page shared by every visitor (httpcache) must not carry one's token.
            "language_form": ConfirmForm() if has_request_context() and not g.get("shared_page") else None,
            "current_language": get_locale().language if get_locale() else "sv",
            "menu_groups": menu_groups,
            "role_label": lambda role: str(ROLE_LABELS[role]),
        }
