"""Mail of the sign-up: the confirmation link and the "already on our list" answer.

Rendered in the recipient's language (``force_locale``) straight from the Jinja
environment, like every mail: it may be built outside a request.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from commsplan.delivery.models import OutgoingMessage


def _render(kind: str, template: str, subject: str, **context: Any) -> OutgoingMessage:
    env = current_app.jinja_env
    return OutgoingMessage(
        kind=kind,
        subject=subject,
        text_body=env.get_template(f"email/subscriptions/{template}.txt").render(**context),
        html_body=env.get_template(f"email/subscriptions/{template}.html").render(**context),
        headers={},
        attachments=[],
        source_type="subscription",
    )


def confirmation(*, language: str, confirm_url: str, hours: int) -> OutgoingMessage:
    with force_locale(language):
        return _render(
            "subscription_confirm",
            "confirm",
            _("Bekräfta din prenumeration"),
            confirm_url=confirm_url,
            hours=hours,
        )


def already_known(*, language: str, preferences_url: str, subscriptions: list[str]) -> OutgoingMessage:
    with force_locale(language):
        return _render(
            "subscription_known",
            "known",
            _("Du finns redan i vårt utskick"),
            preferences_url=preferences_url,
            subscriptions=subscriptions,
        )
