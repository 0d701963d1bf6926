"""Texts shown both on the notice pages and where a relayed item is published as a notice."""

from __future__ import annotations

from flask_babel import ngettext


def published(count: int) -> str:
    """The confirmation after publishing: how many recipients the notice goes to."""
    return ngettext(
        "Meddelandet är publicerat och skickas till %(num)d mottagare.",
        "Meddelandet är publicerat och skickas till %(num)d mottagare.",
        count,
    )
