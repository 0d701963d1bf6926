"""commsplan: the communication plan for 1177 e-services as a living web app."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, request, session

from commsplan import config
from commsplan.extensions import babel, csrf, db, limiter, login_manager, mail, migrate
from commsplan.i18n import template_translations

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def select_locale() -> str:
    """Swedish unless the visitor chose another supported language, or followed a link
    from mail in another language (``?lang=en``)."""
    from flask import current_app, has_request_context

    # CLI commands and the worker have no request: they speak the default language.
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    # Links in mail carry ?lang= so the page they open speaks the reader's language.
    chosen = request.args.get("lang") or session.get("lang")
    if chosen in current_app.config["LANGUAGES"]:
        return chosen
    if request.path.startswith("/api/"):
        # API clients have no session: they ask with Accept-Language.
        asked = request.accept_languages.best_match(current_app.config["LANGUAGES"])
        if asked:
            return asked
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build a new application: defaults, then environment (or the test mapping)."""
    app = Flask(
        __name__,
        instance_path=os.environ.get("COMMSPLAN_INSTANCE_PATH", str(PROJECT_ROOT / "instance")),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder="static",
    )
    app.config.from_mapping(config.defaults(app.instance_path))
    if test_config is None:
        app.config.from_prefixed_env("COMMSPLAN")
    else:
        app.config.from_mapping(test_config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    config.finalise(app)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    login_manager.init_app(app)
    mail.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    app.context_processor(template_translations)
    csrf.init_app(app)
    limiter.init_app(app)

    from commsplan import cli, errors, features, inputs, web

    inputs.init_app(app)  # first: URL rules take their converters when they are added
    errors.init_app(app)
    web.init_app(app)
    features.init_app(app)
    cli.init_app(app)

    @app.after_request
    def security_headers(response):  # type: ignore[no-untyped-def]
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; "
            "script-src 'self'; frame-ancestors 'none'; form-action 'self'",
        )
        if request.endpoint and request.endpoint.startswith("static"):
            return response
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app
