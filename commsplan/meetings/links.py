"""Links to a meeting for people without an account: the public occurrence page.

Mail and calendar events link to ``/meetings/public/<id>``. For a series that takes
sign-ups the page is public anyway (it is where people register); for any other series
the link carries ``key``, the occurrence id signed with the app's secret, so only
someone who was sent the link can open it. The page never shows who takes part.
"""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from commsplan.meetings.models import Occurrence

_SALT = "public-occurrence-page"
ENDPOINT = "meetings.public_occurrence"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt=_SALT)  # type: ignore[arg-type]


def occurrence_key(occurrence_id: int) -> str:
    """The same key for the same occurrence: calendar feeds render stable bytes."""
    return str(_serializer().dumps(occurrence_id))


def key_opens(key: str | None, occurrence_id: int) -> bool:
    if not key:
        return False
    try:
        return _serializer().loads(key) == occurrence_id
    except BadSignature:
        return False


def can_view_publicly(occurrence: Occurrence, key: str | None) -> bool:
    return occurrence.series.registration_open or key_opens(key, occurrence.id)


def public_occurrence_url(occurrence: Occurrence) -> str:
    """Absolute link (under BASE_URL) to the occurrence's public page, with its key, so it
    keeps working if the series stops taking sign-ups; built without a request."""
    path = current_app.url_map.bind("localhost").build(
        ENDPOINT, {"occurrence_id": occurrence.id, "key": occurrence_key(occurrence.id)}
    )
    return current_app.config["BASE_URL"] + path
