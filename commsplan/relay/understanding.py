"""STAND-IN for helper `understanding`'s module (issue 12): the merger REPLACES this file
with theirs. Only the interface in /work/prompts/relay-interface.md, with a naive guess so
the relay can be tested before their module lands."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from commsplan.kinds import NoticeKind
from commsplan.timeutil import STOCKHOLM


@dataclass(frozen=True)
class Evidence:
    reason: str
    excerpt: str


@dataclass(frozen=True)
class Understanding:
    kind: NoticeKind | None
    kind_evidence: tuple[Evidence, ...]
    starts_at: datetime | None
    ends_at: datetime | None
    time_evidence: tuple[Evidence, ...]
    services: tuple[str, ...]
    service_evidence: tuple[Evidence, ...]


_WORDS = (
    ("planerat underhåll", NoticeKind.service_window),
    ("servicefönster", NoticeKind.service_window),
    ("driftstörning", NoticeKind.outage),
    ("release", NoticeKind.release),
)
_ISO_RANGE = re.compile(r"(\d{4}-\d{2}-\d{2}) (\d{1,2})[:.](\d{2})\s*[-–]\s*(\d{1,2})[:.](\d{2})")


def understand(subject: str, body: str, *, received_at: datetime) -> Understanding:
    text = f"{subject}\n{body}"
    kind, kind_evidence = None, ()
    for word, candidate in _WORDS:
        if word in text.lower():
            kind, kind_evidence = candidate, (Evidence(f'Ordet "{word}"', word),)
            break
    starts = ends = None
    time_evidence: tuple[Evidence, ...] = ()
    match = _ISO_RANGE.search(text)
    if match:
        day = datetime.fromisoformat(match.group(1))
        starts = day.replace(
            hour=int(match.group(2)), minute=int(match.group(3)), tzinfo=STOCKHOLM
        ).astimezone(UTC)
        ends = day.replace(hour=int(match.group(4)), minute=int(match.group(5)), tzinfo=STOCKHOLM).astimezone(
            UTC
        )
        time_evidence = (Evidence("Datum och tider", match.group()),)
    return Understanding(kind, kind_evidence, starts, ends, time_evidence, (), ())
