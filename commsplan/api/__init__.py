"""HTTP API under /api/v1/ with per-user bearer tokens and a generated OpenAPI document."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api


class CommsplanApi(Api):
    """flask-smorest, but our own error pages stay in charge outside the API blueprint."""

    def _register_error_handlers(self) -> None:
        # The API blueprint has its own JSON error handler (api.views.api_error).
        pass


def init_app(app: Flask) -> None:
    from commsplan.api import cli, models, views  # noqa: F401
    from commsplan.auth.guard import public
    from commsplan.extensions import csrf

    app.config.setdefault("API_TITLE", "commsplan")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api = CommsplanApi(
        app,
        spec_kwargs={
            "security": [{"bearerAuth": []}],
        },
    )
    api.spec.components.security_scheme(
        "bearerAuth",
        {"type": "http", "scheme": "bearer", "description": "flask commsplan create-token EMAIL"},
    )
    # Other features add their API blueprints to the same document (see activities.api).
    app.extensions["commsplan_api"] = api
    csrf.exempt(views.bp)
    api.register_blueprint(views.bp)
    app.register_blueprint(views.tokens_bp)
    # The document describes the API; reading it needs no account.
    endpoint = "api-docs.openapi_json"
    if endpoint in app.view_functions:
        original = app.view_functions[endpoint]

        def openapi_json():  # type: ignore[no-untyped-def]
            return original()

        app.view_functions[endpoint] = public(openapi_json)
