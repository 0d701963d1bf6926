"""The demo's example activity: the monthly release, prepared the way the plan asks.

Idempotent (found by title). Its responsible person is left open, so the demo also shows
what an incomplete checklist says; copying it is how next month's release starts.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from commsplan.activities import services
from commsplan.activities.models import Activity, ActivityKind
from commsplan.plan.models import Channel, StakeholderGroup

DEMO_TITLE = "Månadsrelease av 1177:s e-tjänster (mall)"

# (stakeholder group, directly affected, core message, channels) in the plan's words.
DEMO_GROUPS: list[tuple[str, bool, str, list[str]]] = [
    (
        "Vårdgivare - medarbetare",
        True,
        "Det här ändras i e-tjänsterna och i era rutiner, från releasedagen. Så svarar ni "
        "patienter som frågar.",
        ["Intranätet"],
    ),
    (
        "Vårdgivare - chefer",
        False,
        "Releasen påverkar arbetssätt i verksamheten; förbered medarbetarna.",
        ["Funktionsbrevlådan 1177 e-tjänster"],
    ),
    (
        "Invånare/Patienter",
        True,
        "Nytt i e-tjänsterna på 1177.se och hur du använder det.",
        ["1177.se"],
    ),
]


def load_activities_demo(session: Session) -> int:
    """Add the example activity if it is missing; returns how many were added."""
    services.ensure_default_templates(session)
    if session.scalar(select(Activity.id).where(Activity.title == DEMO_TITLE)) is not None:
        return 0
    groups = []
    for name, directly, message, channel_names in DEMO_GROUPS:
        group = session.scalar(select(StakeholderGroup).where(StakeholderGroup.name == name))
        if group is None:
            continue
        channel_ids = list(session.scalars(select(Channel.id).where(Channel.name.in_(channel_names))))
        groups.append(services.GroupAnswer(group.id, directly, message, channel_ids))
    data = services.ActivityData(
        title=DEMO_TITLE,
        kind=ActivityKind.release,
        information_value=True,
        information_value_why="Releasen ändrar hur både personal och invånare använder e-tjänsterna.",
        purpose="Att berörda vet i god tid vad som ändras och när, och kan förbereda sig.",
        workdays_before=2,
        groups=groups,
    )
    services.create_activity(session, data, None)
    return 1
