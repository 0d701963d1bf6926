"""Communication activities: every release, service window, outage, meeting or newsletter
item prepared against the plan's checklist, and the gate that makes publishing wait for it.

Depends on notices, never the other way round: the gate is a check registered with
``notices.checks``, and the notice pages read the per-group wording through template
globals this package provides.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app

from commsplan.extensions import db


def init_app(app: Flask) -> None:
    from commsplan.activities import api, cli, models, services, views  # noqa: F401
    from commsplan.notices.checks import register_publish_check

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
    app.jinja_env.globals["public_wordings"] = public_wordings
    app.jinja_env.globals["template_name"] = services.template_name
    app.jinja_env.globals["template_description"] = services.template_description
    app.jinja_env.globals["notice_activities"] = notice_activities
