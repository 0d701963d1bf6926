"""One JSON line on stdout per request (request id, user, route, status, duration).

python-json-logger formats the records, so every field is escaped the same way and log
shippers (journald, Loki, Elastic) read the lines without a custom parser.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from typing import Any

import click
from flask import Flask, Response, g, request
from flask.logging import default_handler
from pythonjsonlogger.json import JsonFormatter

from commsplan.config import is_production

REQUEST_LOGGER = "commsplan.request"
# A proxy's id is kept if it looks like one; anything else (newlines, 1 MB) is replaced.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stdout`` is when the record is emitted, so gunicorn's
    and pytest's redirections are followed. Inside a ``flask commsplan …`` command the
    lines go to stderr instead: stdout is the command's output there (``export > plan.json``
    must not contain log lines), and systemd's journal reads both."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr if click.get_current_context(silent=True) is not None else sys.stdout

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def json_formatter() -> JsonFormatter:
    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )


def configure_json_logging(app: Flask) -> None:
    """Send log records (the app's requests and errors, and the libraries') to stdout as
    JSON lines, through one handler on the root logger."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        # One handler however many apps a process builds (tests build one per test).
        if getattr(handler, "_commsplan_json", False):
            root.removeHandler(handler)
    handler = StdoutHandler()
    handler.setFormatter(json_formatter())
    handler._commsplan_json = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    # Flask's own stderr handler would print every app record a second time, as text.
    app.logger.removeHandler(default_handler)
    logging.getLogger("commsplan").setLevel(logging.INFO)


def request_id() -> str:
    """The current request's id: the proxy's ``X-Request-ID`` or one made here."""
    return str(g.get("request_id") or "")


def _user_id() -> int | None:
    # Only a user Flask-Login already loaded: logging must not load one (that would touch
    # the session and add ``Vary: Cookie`` to static files).
    user = g.get("_login_user")
    if user is not None and getattr(user, "is_authenticated", False):
        return getattr(user, "id", None)
    return None


def init_app(app: Flask) -> None:
    json_logs = app.config["LOG_JSON"]
    if json_logs is None:
        json_logs = is_production(app)
    if json_logs:
        configure_json_logging(app)
    logger = logging.getLogger(REQUEST_LOGGER)

    @app.before_request
    def start_request() -> None:
        g.request_started = time.perf_counter()
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex

    @app.after_request
    def log_request(response: Response) -> Response:
        started = g.get("request_started")
        if started is None:
            return response
        duration = time.perf_counter() - started
        g.request_duration = duration
        response.headers["X-Request-ID"] = request_id()
        logger.info(
            "request",
            extra={
                "request_id": request_id(),
                "user_id": _user_id(),
                "method": request.method,
                "path": request.path,
                "route": request.endpoint,
                "status": response.status_code,
                "duration_ms": round(duration * 1000, 2),
                "remote_addr": request.remote_addr,
            },
        )
        return response
