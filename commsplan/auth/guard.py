"""Server-side access control, applied to every request.

Secure by default: every endpoint needs a logged-in user; reading needs the viewer role
and any state-changing method needs coordinator. Views loosen this with ``@public`` (no
log-in: public pages, token links) or tighten it with ``@role_required``.

A view that answers GET *and* a state-changing method is a form page: its GET needs the
same role as sending it, so a viewer gets a clear 403 before typing rather than a form
that fails on submit. A page whose GET is a read-only list with a form for coordinators
beside it says so with ``@readable``; its template shows the form only when ``may(…)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from flask import Flask, abort, current_app, request
from flask_babel import gettext as _
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


def readable(view: F) -> F:
    """Mark a GET+POST view whose GET is a read-only page for viewers too.

    Its template must hide the form from those who may not send it (``may(endpoint)``).
    """
    view._commsplan_readable = True  # type: ignore[attr-defined]
    return view


def required_role_for(
    view: Callable[..., object], method: str, view_methods: Iterable[str] = ()
) -> Role | None:
    """The least role that may call ``view`` with ``method``; None if public.

    ``view_methods`` are all methods the view's URL answers: a GET of a view that also
    changes state shows its form, and so needs the role that may send it.
    """
    if getattr(view, "_commsplan_public", False):
        return None
    explicit = getattr(view, "_commsplan_role", None)
    if explicit is not None:
        return explicit
    if method not in SAFE_METHODS:
        return Role.coordinator
    is_form_page = any(m not in SAFE_METHODS for m in view_methods)
    if is_form_page and not getattr(view, "_commsplan_readable", False):
        return Role.coordinator
    return Role.viewer


def endpoint_methods(endpoint: str) -> set[str]:
    """Every method the URL rules of ``endpoint`` answer."""
    methods: set[str] = set()
    for rule in current_app.url_map.iter_rules(endpoint):
        methods |= rule.methods or set()
    return methods


def may(endpoint: str) -> bool:
    """Whether the current user may use ``endpoint`` with every method it answers.

    Templates ask this before showing a link to a form page or a button that posts, so
    nobody is offered what the server would refuse.
    """
    view = current_app.view_functions.get(endpoint)
    if view is None:
        return False
    methods = endpoint_methods(endpoint)
    for method in methods:
        required = required_role_for(view, method, methods)
        if required is None:
            continue
        if not current_user.is_authenticated or not current_user.has_role(required):
            return False
    return True


def enforce() -> object | None:
    if request.endpoint is None:
        return None  # 404 follows
    view = current_app.view_functions.get(request.endpoint)
    if view is None or request.endpoint == "static":
        return None
    rule_methods = request.url_rule.methods if request.url_rule is not None else None
    required = required_role_for(view, request.method, rule_methods or ())
    if required is None:
        return None
    if not current_user.is_authenticated:
        if request.blueprint == "api" or getattr(view, "_commsplan_bearer", False):
            return None  # the API authenticates with bearer tokens itself
        return login_manager.unauthorized()
    if not current_user.has_role(required):
        if required is Role.coordinator:
            abort(403, _("Ditt konto får läsa men inte ändra. Be en administratör om rollen samordnare."))
        abort(403)
    return None


def init_app(app: Flask) -> None:
    app.before_request(enforce)
    app.jinja_env.globals["may"] = may
