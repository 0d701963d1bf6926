"""Swedish dates as a reader writes them, spelt out here and not by the code under test."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

MONTHS = [
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
]


def moment(value: datetime) -> str:
    """ "3 mars kl. 13.00" in Stockholm time."""
    local = value.astimezone(ZoneInfo("Europe/Stockholm"))
    return f"{local.day} {MONTHS[local.month - 1]} kl. {local:%H.%M}"
