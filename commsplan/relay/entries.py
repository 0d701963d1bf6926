"""What every source hands the relay: entries, whatever they were read from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


class SourceError(Exception):
    """The source could not be read; the message is shown on the source's page."""


@dataclass(frozen=True)
class Entry:
    external_id: str
    subject: str
    body: str
    link: str = ""
    received_at: datetime | None = None
    # Times the source gives as data (iCalendar), not guessed from the text.
    starts_at: datetime | None = None
    ends_at: datetime | None = None
