"""Swedish labels for notice kinds and severities."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from commsplan.kinds import NoticeKind, Severity

KIND_LABELS = {
    NoticeKind.release: _l("Release"),
    NoticeKind.service_window: _l("Planerat servicefönster"),
    NoticeKind.outage: _l("Driftstörning"),
    NoticeKind.general: _l("Information"),
}

SEVERITY_LABELS = {
    Severity.low: _l("Låg"),
    Severity.medium: _l("Medel"),
    Severity.high: _l("Hög"),
    Severity.critical: _l("Kritisk"),
}
