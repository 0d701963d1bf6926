"""Communication activities: every release, service window, outage, meeting or newsletter
item prepared against the plan's checklist, and the gate that makes publishing wait for it.

Depends on notices, never the other way round: the gate is a check registered with
``notices.checks``, the per-group core messages reach notice mail through a source
registered with ``wording`` (below both), and the notice pages read the per-group wording
through template globals this package provides.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app

from commsplan.extensions import db
from commsplan.httpcache import register_source


def init_app(app: Flask) -> None:
    from commsplan.activities import api, cli, document, models, services, views  # noqa: F401
    from commsplan.notices.checks import register_publish_check
    from commsplan.plan.document import register_section
    from commsplan.wording.services import register_wording_source

    app.config.setdefault("ACTIVITY_GATE", True)
    # National practice: update people at least every 30 minutes during an outage.
    app.config.setdefault("OUTAGE_UPDATE_MINUTES", 30)
    # Groups whose core message the public status page shows (the resident wording).
    app.config.setdefault("ACTIVITY_PUBLIC_GROUPS", ["Invånare/Patienter", "Allmänhet"])
    app.register_blueprint(views.bp)
    api.init_api(app)

    def gate(session: Any, notice: Any) -> dict[str, str]:
        return services.gate_blockers(session, notice, current_app.config)

    register_publish_check(app, "activity-checklist", gate)
    # Notice mail gives each recipient the core message of their stakeholder group.
    register_wording_source(app, "activity-groups", services.group_wordings)
    # The plan document's checklist is this package's template, right after "Samverkan".
    register_section(app, "samverkan", document.checklist_section)

    def public_wording(notice: Any) -> str | None:
        return services.wording_for_groups(
            db.session, notice, list(current_app.config["ACTIVITY_PUBLIC_GROUPS"])
        )

    def public_wordings(notices: list[Any]) -> dict[int, str]:
        return services.wordings_for_groups(
            db.session, notices, list(current_app.config["ACTIVITY_PUBLIC_GROUPS"])
        )

    def notice_activities(notice: Any) -> list[Any]:
        return services.activities_for_notice(db.session, notice)

    app.jinja_env.globals["public_wording"] = public_wording
    # The status page shows that wording: a changed activity is a new page version.
    register_source(app, services.last_activity_change)
    app.jinja_env.globals["public_wordings"] = public_wordings
    app.jinja_env.globals["template_name"] = services.template_name
    app.jinja_env.globals["template_description"] = services.template_description
    app.jinja_env.globals["notice_activities"] = notice_activities
