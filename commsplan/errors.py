"""Error pages: Swedish HTML for people, JSON for the API. Never a bare 500."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from commsplan.extensions import db


def _messages() -> dict[int, str]:
    return {
        400: _("Begäran kunde inte tolkas."),
        401: _("Du behöver logga in."),
        403: _("Du har inte behörighet till den här sidan."),
        404: _("Sidan finns inte."),
        405: _("Metoden är inte tillåten här."),
        409: _("Åtgärden krockar med befintliga data."),
        413: _("Det du skickade är för stort."),
        422: _("Uppgifterna kunde inte behandlas."),
        429: _("För många förfrågningar. Försök igen om en stund."),
        500: _("Ett oväntat fel inträffade. Försök igen."),
    }


def _wants_json() -> bool:
    return request.path.startswith("/api/") or (request.accept_mimetypes.best == "application/json")


def render_error(code: int, message: str | None = None):  # type: ignore[no-untyped-def]
    text = message or _messages().get(code, _("Något gick fel."))
    if _wants_json():
        return jsonify({"code": code, "message": text}), code
    return render_template("errors/error.html", code=code, message=text), code


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):  # type: ignore[no-untyped-def]
        return render_error(
            400, _("Formuläret har gått ut eller saknar säkerhetstoken. Ladda om sidan och försök igen.")
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        code = error.code or 500
        # Keep our own specific message (abort(404, "…")) but not Werkzeug's English default.
        default = type(error).description
        message = error.description if error.description != default else None
        response = render_error(code, message)
        if code == 405 and error.get_response().headers.get("Allow"):
            response[0].headers["Allow"] = error.get_response().headers["Allow"]
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception):  # type: ignore[no-untyped-def]
        db.session.rollback()
        app.logger.exception("Unhandled error")
        return render_error(500)
