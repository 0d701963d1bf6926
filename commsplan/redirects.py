"""Where a view may send the browser after an action."""

from __future__ import annotations

from urllib.parse import urlsplit


def local_path(target: str | None, default: str) -> str:
    """``target`` if it is a path on this site, else ``default``: no open redirect.

    Browsers read ``//host`` and ``/\\host`` as another site, so both are refused, as is
    anything with a scheme or host.
    """
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return default
