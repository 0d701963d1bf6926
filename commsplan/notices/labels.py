"""Swedish labels for the notice enums, shared by pages, mail and the status page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from commsplan.kinds.labels import KIND_LABELS as KIND_LABELS
from commsplan.kinds.labels import SEVERITY_LABELS as SEVERITY_LABELS
from commsplan.notices.models import NoticeStatus, OutageState, UpdateKind

STATUS_LABELS = {
    NoticeStatus.draft: _l("Utkast"),
    NoticeStatus.published: _l("Publicerat"),
    NoticeStatus.closed: _l("Avslutat"),
    NoticeStatus.cancelled: _l("Inställt"),
}

OUTAGE_STATE_LABELS = {
    OutageState.investigating: _l("Felsökning pågår"),
    OutageState.identified: _l("Orsaken är identifierad"),
    OutageState.monitoring: _l("Åtgärdat, bevakas"),
    OutageState.resolved: _l("Löst"),
}

UPDATE_LABELS = {
    UpdateKind.published: _l("Publicerat"),
    UpdateKind.update: _l("Uppdatering"),
    UpdateKind.rescheduled: _l("Ändrad tid"),
    UpdateKind.extended: _l("Förlängt"),
    UpdateKind.reminder: _l("Påminnelse"),
    UpdateKind.started: _l("Har börjat"),
    UpdateKind.ended: _l("Har avslutats"),
    UpdateKind.closed: _l("Avslutat"),
    UpdateKind.cancelled: _l("Inställt"),
}

# Prefixes before "<kind>: <title>" in the subject of mail after the first one.
SUBJECT_PREFIXES = {
    UpdateKind.update: _l("Uppdatering"),
    UpdateKind.rescheduled: _l("Ändrad tid"),
    UpdateKind.extended: _l("Förlängt"),
    UpdateKind.reminder: _l("Påminnelse"),
    UpdateKind.started: _l("Pågår nu"),
    UpdateKind.ended: _l("Avslutat"),
    UpdateKind.closed: _l("Avslutat"),
    UpdateKind.cancelled: _l("Inställt"),
}
