"""Swedish labels for the activities' enums."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from commsplan.activities.models import ActivityKind, ActivityStatus, AnswerKind

ACTIVITY_KIND_LABELS: dict[ActivityKind, LazyString] = {
    ActivityKind.release: _l("Release"),
    ActivityKind.service_window: _l("Servicefönster"),
    ActivityKind.outage: _l("Driftstörning"),
    ActivityKind.meeting: _l("Möte"),
    ActivityKind.newsletter: _l("Nyhetsbrev"),
    ActivityKind.routine_change: _l("Ändring som påverkar rutiner"),
    ActivityKind.content: _l("Nytt innehåll"),
    ActivityKind.general: _l("Allmän information"),
}

ACTIVITY_STATUS_LABELS: dict[ActivityStatus, LazyString] = {
    ActivityStatus.idea: _l("Idé"),
    ActivityStatus.planned: _l("Planerad"),
    ActivityStatus.done: _l("Genomförd"),
    ActivityStatus.dropped: _l("Blir inte av"),
}

ANSWER_KIND_LABELS: dict[AnswerKind, LazyString] = {
    AnswerKind.information_value: _l("Ja/nej med motivering"),
    AnswerKind.target_groups: _l("Målgrupper"),
    AnswerKind.purpose: _l("Syfte"),
    AnswerKind.core_messages: _l("Kärnbudskap per målgrupp"),
    AnswerKind.group_channels: _l("Kanaler per målgrupp"),
    AnswerKind.timing: _l("Tidpunkt"),
    AnswerKind.responsible: _l("Ansvarig"),
    AnswerKind.text: _l("Fritext"),
    AnswerKind.confirm: _l("Bekräftelse"),
}
