"""Public pages a reverse proxy may keep for a short while (``/status`` and its feed and
notices): validators from one cheap query, 304 answers, and a public Cache-Control.

During a large outage everyone opens the status page at once; with ETag, Last-Modified
and ``Cache-Control: public, max-age=30`` nginx (deploy/nginx.conf) answers most of them
and the app renders each version once. Only anonymous visitors get a shared answer:
a signed-in coordinator's page holds menus and tokens and stays ``no-store``.

Each process reads the version at most once every ``PUBLIC_VERSION_SECONDS`` (1 s) for the
anonymous answers it gives meanwhile: a change made through any process reaches every
visitor within that second, far inside the ``max-age`` proxies already get, and the rush
of visitors in that second costs no query at all. A signed-in coordinator never gets a
remembered version: the page they just published shows at once.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, make_response, request, session
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy import ColumnElement
from werkzeug.http import is_resource_modified

F = TypeVar("F", bound=Callable[..., Any])
SOURCES_KEY = "commsplan_public_sources"
VERSIONS_KEY = "commsplan_public_versions"
# Remembered versions per process, one per view and arguments (/status/<uid>): past
# this many, e.g. from made-up uids, the memory is emptied rather than grown.
MAX_REMEMBERED_VERSIONS = 1000


@dataclass(frozen=True)
class PublicVersion:
    """What a public page's content depends on: when it last changed, and the values
    (counts, names) whose change has no timestamp."""

    last_modified: datetime | None
    values: tuple[object, ...]

    def etag(self, variant: str) -> str:
        digest = hashlib.sha256(repr((variant, self.values)).encode()).hexdigest()
        return digest[:32]


def register_source(app: Flask, expression: Callable[[], ColumnElement[Any]]) -> None:
    """Add a scalar SQL expression (a feature's own "last changed") to the query that
    versions the public pages, so a feature that shapes them need not be imported here."""
    app.extensions.setdefault(SOURCES_KEY, []).append(expression)


def extra_sources() -> Sequence[ColumnElement[Any]]:
    return [expression() for expression in current_app.extensions.get(SOURCES_KEY, [])]


def latest(values: Sequence[object]) -> datetime | None:
    times = [v for v in values if isinstance(v, datetime)]
    return max(times) if times else None


def shareable() -> bool:
    """Whether this visitor sees what every anonymous visitor sees."""
    if current_user.is_authenticated:
        return False
    # A flashed message belongs to one visitor.
    return "_flashes" not in session


def _recent_version(
    version_of: Callable[..., PublicVersion], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> PublicVersion:
    """``version_of``'s answer, read again only when this process's copy is older than
    ``PUBLIC_VERSION_SECONDS`` (0: on every request)."""
    seconds = float(current_app.config["PUBLIC_VERSION_SECONDS"])
    if seconds <= 0:
        return version_of(*args, **kwargs)
    remembered: dict[Any, tuple[float, PublicVersion]] = current_app.extensions.setdefault(VERSIONS_KEY, {})
    key = (version_of, args, tuple(sorted(kwargs.items())))
    now = time.monotonic()
    found = remembered.get(key)
    if found is not None and now - found[0] < seconds:
        return found[1]
    version = version_of(*args, **kwargs)
    if len(remembered) >= MAX_REMEMBERED_VERSIONS:
        remembered.clear()
    remembered[key] = (now, version)
    return version


def _variant() -> str:
    # The page's language is chosen by ?lang= (in the URL, so in the cache key) or by the
    # session cookie (hence Vary: Cookie); the ETag names it either way.
    locale = get_locale()
    return f"{request.path}|{locale.language if locale else ''}"


def _apply(response: Response, etag: str, last_modified: datetime | None) -> Response:
    response.set_etag(etag, weak=True)
    if last_modified is not None:
        response.last_modified = last_modified.replace(microsecond=0)
    max_age = int(current_app.config["PUBLIC_CACHE_MAX_AGE"])
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.vary.add("Cookie")
    return response


def public_page(version_of: Callable[..., PublicVersion]) -> Callable[[F], F]:
    """Serve the view with validators and a public Cache-Control to anonymous visitors,
    and answer 304 before rendering when their copy is current."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not shareable():
                return view(*args, **kwargs)
            version = _recent_version(version_of, args, kwargs)
            etag = version.etag(_variant())
            # Rendered without anything tied to this visitor (no CSRF token: it would
            # set a session cookie and end up in everyone's copy).
            g.shared_page = True
            # The same version names the rendering a process may keep (notices' page cache).
            g.public_etag = etag
            if not is_resource_modified(request.environ, etag=etag, last_modified=version.last_modified):
                return _apply(Response(status=304), etag, version.last_modified)
            response = make_response(view(*args, **kwargs))
            if response.status_code != 200:
                return response
            return _apply(response, etag, version.last_modified)

        return wrapper  # type: ignore[return-value]

    return decorate
