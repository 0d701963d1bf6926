"""Server-side access control, applied to every request.

Secure by default: every endpoint needs a logged-in user; reading needs the viewer role
and any state-changing method needs coordinator. Views loosen this with ``@public`` (no
log-in: public pages, token links) or tighten it with ``@role_required``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, abort, current_app, request
from flask_login import current_user

from commsplan.auth.models import Role
from commsplan.extensions import login_manager

F = TypeVar("F", bound=Callable[..., object])

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def public(view: F) -> F:
    """Mark a view as reachable without logging in."""
    view._commsplan_public = True  # type: ignore[attr-defined]
    return view


def bearer_token(view: F) -> F:
    """Mark a view of an API blueprint outside ``api``: it authenticates with bearer tokens
    itself, so no log-in redirect."""
    view._commsplan_bearer = True  # type: ignore[attr-defined]
    return view


def role_required(role: Role | str) -> Callable[[F], F]:
    """Require at least ``role`` for every method of this view."""
    required = Role(role) if isinstance(role, str) else role

    def decorate(view: F) -> F:
        view._commsplan_role = required  # type: ignore[attr-defined]
        return view

    return decorate


def required_role_for(view: Callable[..., object], method: str) -> Role | None:
    """The least role that may call ``view`` with ``method``; None if public."""
    if getattr(view, "_commsplan_public", False):
        return None
    explicit = getattr(view, "_commsplan_role", None)
    if explicit is not None:
        return explicit
    return Role.viewer if method in SAFE_METHODS else Role.coordinator


def enforce() -> object | None:
    if request.endpoint is None:
        return None  # 404 follows
    view = current_app.view_functions.get(request.endpoint)
    if view is None or request.endpoint == "static":
        return None
    required = required_role_for(view, request.method)
    if required is None:
        return None
    if not current_user.is_authenticated:
        if request.blueprint == "api" or getattr(view, "_commsplan_bearer", False):
            return None  # the API authenticates with bearer tokens itself
        return login_manager.unauthorized()
    if not current_user.has_role(required):
        abort(403)
    return None


def init_app(app: Flask) -> None:
    app.before_request(enforce)
