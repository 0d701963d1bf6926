"""Swedish labels for the relay enums: pages and the CLI never show raw values."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from commsplan.relay.models import ItemState, SourceKind

SOURCE_KIND_LABELS = {
    SourceKind.imap: _l("E-postlåda (IMAP)"),
    SourceKind.feed: _l("Flöde"),
    SourceKind.paste: _l("Inklistrad text"),
}

ITEM_STATE_LABELS = {
    ItemState.new: _l("Ny"),
    ItemState.drafted: _l("Utkast att granska"),
    ItemState.merged: _l("Uppdatering i ett meddelande"),
    ItemState.dismissed: _l("Avfärdad"),
    ItemState.published: _l("Publicerad"),
}


def source_kind_label(kind: SourceKind) -> str:
    return str(SOURCE_KIND_LABELS[kind])


def item_state_label(state: ItemState) -> str:
    return str(ITEM_STATE_LABELS[state])
