"""Swedish labels for the plan's enums, shared by forms, pages and the plan document."""

from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from commsplan.plan.models import ChannelKind, NeedKind, UnitKind

CHANNEL_KIND_LABELS: dict[ChannelKind, LazyString] = {
    ChannelKind.email: _l("E-post"),
    ChannelKind.ticket_system: _l("Ärendesystem"),
    ChannelKind.intranet: _l("Intranät"),
    ChannelKind.collaboration_web: _l("Samverkanswebb"),
    ChannelKind.social_media: _l("Sociala medier"),
    ChannelKind.web_page: _l("Webbsida"),
    ChannelKind.status_page: _l("Statussida"),
    ChannelKind.meeting: _l("Möte"),
    ChannelKind.phone: _l("Telefon"),
}

UNIT_KIND_LABELS: dict[UnitKind, LazyString] = {
    UnitKind.administration: _l("Förvaltning eller verksamhet"),
    UnitKind.system_object: _l("Systemförvaltningsobjekt"),
    UnitKind.external: _l("Extern"),
}

NEED_KIND_LABELS: dict[NeedKind, LazyString] = {
    NeedKind.able_to: _l("för att kunna"),
    NeedKind.receive: _l("för att få"),
}

LANGUAGE_LABELS: dict[str, LazyString] = {
    "sv": _l("Svenska"),
    "en": _l("Engelska"),
}

_BY_ENUM: dict[type[enum.Enum], dict] = {
    ChannelKind: CHANNEL_KIND_LABELS,
    UnitKind: UNIT_KIND_LABELS,
    NeedKind: NEED_KIND_LABELS,
}


def label(value: enum.Enum | str | None) -> str:
    """The Swedish label of an enum member (or a language code); the raw value if unknown."""
    if value is None:
        return ""
    if isinstance(value, enum.Enum):
        labels = _BY_ENUM.get(type(value), {})
        return str(labels.get(value, value.value))
    return str(LANGUAGE_LABELS.get(value, value))


def choices(labels: dict) -> list[tuple[str, LazyString]]:
    """``(value, label)`` pairs for a WTForms SelectField, in declaration order."""
    return [(key.value if isinstance(key, enum.Enum) else key, text) for key, text in labels.items()]
