"""Public pages the law requires: the accessibility statement (DOS law) and the privacy
notice for the contact register (GDPR). Default texts ship with the code; admins edit
them, and the edited text is kept in the database."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from commsplan.pages import models, views  # noqa: F401

    app.config.setdefault("CONTACT_EMAIL", "invanartjanster@example.org")
    app.register_blueprint(views.bp)
