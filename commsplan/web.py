"""Pages that belong to no single feature: start page, language choice, health."""

from __future__ import annotations

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
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
from sqlalchemy import text

from commsplan.auth.guard import public
from commsplan.auth.models import Role
from commsplan.extensions import db
from commsplan.forms import ConfirmForm, error_messages
from commsplan.redirects import local_path

bp = Blueprint("web", __name__)


@bp.get("/")
def index():
    from commsplan.plan import services as plan_services

    overview = plan_services.overview(db.session)
    return render_template("index.html", overview=overview)


@bp.post("/language/<code>")
@public
def set_language(code: str):
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    if ConfirmForm().validate_on_submit():
        session["lang"] = code
    return redirect(local_path(request.form.get("next"), url_for("web.index")))


@bp.get("/healthz")
@public
def health():
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}


# (endpoint, label, endpoint prefix that marks the entry as current, least role)
# Primary navigation: the daily work. (endpoint, label, prefix marking it current, least role)
MENU: list[tuple[str, LazyString, str, Role]] = [
    ("notices.notice_list", _l("Meddelanden"), "notices.", Role.viewer),
    ("meetings.series_list", _l("Möten"), "meetings.", Role.viewer),
    ("plan.document", _l("Planen"), "plan.document", Role.viewer),
    ("plan.contact_list", _l("Kontakter"), "plan.contact", Role.viewer),
    ("plan.stakeholder_list", _l("Intressenter"), "plan.stakeholder", Role.viewer),
    ("plan.recipient_list", _l("Mottagare"), "plan.recipient", Role.viewer),
    ("audience.matrix", _l("Vem får vad"), "audience.matrix", Role.viewer),
    ("plan.channel_list", _l("Kanaler"), "plan.channel", Role.viewer),
    ("plan.service_list", _l("E-tjänster"), "plan.service", Role.viewer),
    ("plan.system_list", _l("System"), "plan.system", Role.viewer),
    ("plan.unit_list", _l("Enheter"), "plan.unit", Role.viewer),
]

# Secondary navigation beside the account: follow-up, subscriptions and administration.
TOOLS_MENU: list[tuple[str, LazyString, str, Role]] = [
    ("delivery.overview", _l("Utskick"), "delivery.", Role.viewer),
    ("audience.problems", _l("Adresser med problem"), "audience.problems", Role.viewer),
    ("subscriptions.subscription_list", _l("Prenumerationer"), "subscriptions.", Role.viewer),
    ("feeds.subscriptions", _l("Kalendrar"), "feeds.", Role.viewer),
    ("status.status_page", _l("Driftstatus"), "status.", Role.viewer),
    ("tokens.token_list", _l("API-tokens"), "tokens.", Role.viewer),
    ("auth.users", _l("Konton"), "auth.", Role.admin),
]

ROLE_LABELS = {Role.viewer: _l("läsare"), Role.coordinator: _l("samordnare"), Role.admin: _l("administratör")}


def main_menu(menu: str = "main") -> list[tuple[str, str, bool]]:
    """Menu entries the current user may open, with whether each is the current page."""
    endpoint = request.endpoint or ""
    entries = []
    for target, label, prefix, role in MENU if menu == "main" else TOOLS_MENU:
        if target not in current_app.view_functions or not current_user.has_role(role):
            continue
        entries.append((url_for(target), str(label), endpoint.startswith(prefix)))
    return entries


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.filters["error_messages"] = error_messages

    @app.context_processor
    def inject_helpers() -> dict[str, object]:
        return {
            # Templates rendered outside a request (mail from the worker) have no session.
            "language_form": ConfirmForm() if has_request_context() else None,
            "current_language": get_locale().language if get_locale() else "sv",
            "main_menu": main_menu,
            "role_label": lambda role: str(ROLE_LABELS[role]),
        }
