"""Swedish labels for subscription choices, shared by pages and mail."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from commsplan.subscriptions.models import Frequency

FREQUENCY_LABELS = {
    Frequency.immediate: _l("Direkt, ett mejl per meddelande"),
    Frequency.daily: _l("Daglig sammanfattning"),
    Frequency.weekly: _l("Veckosammanfattning (måndagar)"),
}

LANGUAGE_LABELS = {"sv": _l("Svenska"), "en": _l("Engelska")}
