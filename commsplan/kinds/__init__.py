"""The kinds of notice and outage severities: the vocabulary that notices, subscriptions
and audience rules share.

It lives below every feature package so that each of them can name a kind without
importing another feature (``notices`` depends on ``audience``, ``audience`` on
``subscriptions``; none of them back).
"""

from __future__ import annotations

import enum


class NoticeKind(enum.Enum):
    release = "release"
    service_window = "service_window"
    outage = "outage"
    general = "general"


class Severity(enum.Enum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


# Declaration order is the order of seriousness.
SEVERITY_RANK = {severity: rank for rank, severity in enumerate(Severity)}


def at_least(severity: Severity | None, threshold: Severity | None) -> bool:
    """Whether an outage of ``severity`` reaches ``threshold`` (no threshold: always).

    An outage whose severity is not set yet counts as the lowest.
    """
    if threshold is None:
        return True
    return SEVERITY_RANK[severity or Severity.low] >= SEVERITY_RANK[threshold]
