"""A few seconds' cache of the rendered public status page, per language.

During a large outage everyone opens ``/status`` at once, and rendering it costs a dozen
queries and hundreds of list items. Each process keeps its last rendering per language
and serves it again only while both hold:

* it is younger than ``STATUS_CACHE_SECONDS`` (what the page shows also moves with the
  clock: a window starts, history ages out), and
* the public pages' version (``httpcache.public_page``: one query, at most once a
  ``PUBLIC_VERSION_SECONDS`` per process) is the one it was rendered with, so a notice
  published or closed through any process is seen by every process within that second.

The cached text is only what every visitor without a log-in gets: no name, no flashed
message and no CSRF token (its language switch is a link).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass


@dataclass(frozen=True)
class _Rendered:
    marker: Hashable
    body: str
    at: float


class PageCache:
    """Renderings by key, valid for ``max_age`` seconds and for one marker."""

    def __init__(self, max_age: float) -> None:
        self.max_age = max_age
        self._entries: dict[Hashable, _Rendered] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, marker: Hashable) -> str | None:
        entry = self._entries.get(key)
        if entry is None or entry.marker != marker or time.monotonic() - entry.at > self.max_age:
            return None
        return entry.body

    def put(self, key: Hashable, marker: Hashable, body: str) -> None:
        if self.max_age <= 0:
            return
        with self._lock:
            self._entries[key] = _Rendered(marker, body, time.monotonic())
