"""The Atom feed (RFC 4287) of the public status page."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

from flask_babel import gettext as _
from markupsafe import Markup

from commsplan.notices.labels import KIND_LABELS, OUTAGE_STATE_LABELS, STATUS_LABELS, UPDATE_LABELS
from commsplan.notices.markup import render_markdown
from commsplan.notices.models import Notice, UpdateKind
from commsplan.timeutil import STOCKHOLM, utcnow

ATOM = "http://www.w3.org/2005/Atom"


def _tag_id(base_url: str, notice: Notice) -> str:
    # tag: URIs stay the same if the site moves to another path.
    host = urlsplit(base_url).hostname or "commsplan.invalid"
    day = (notice.published_at or notice.created_at).date().isoformat()
    return f"tag:{host},{day}:notice/{notice.uid}"


def _content(notice: Notice) -> Markup:
    """The notice's text followed by its timeline, newest first, as the status page shows
    it: readers of the feed see every update, not only the first announcement. Markup
    escapes every value, so this is the one path from data to the entry's HTML."""
    parts = [render_markdown(notice.body_markdown)]
    updates = [u for u in reversed(notice.updates) if u.kind is not UpdateKind.published or u.body_markdown]
    if updates:
        items = []
        for update in updates:
            when = update.created_at.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")
            state = f" · {OUTAGE_STATE_LABELS[update.outage_state]}" if update.outage_state else ""
            head = Markup("<p><strong>{}</strong> – {}{}</p>").format(UPDATE_LABELS[update.kind], when, state)
            items.append(Markup("<li>{}{}</li>").format(head, render_markdown(update.body_markdown)))
        parts.append(Markup("<h2>{}</h2><ol>{}</ol>").format(_("Uppdateringar"), Markup("").join(items)))
    return Markup("").join(parts)


def atom_feed(notices: Sequence[Notice], base_url: str) -> bytes:
    ET.register_namespace("", ATOM)
    root = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(root, f"{{{ATOM}}}title").text = "Driftstatus – 1177 e-tjänster"
    host = urlsplit(base_url).hostname or "commsplan.invalid"
    ET.SubElement(root, f"{{{ATOM}}}id").text = f"tag:{host},2024:status"
    updated = max((n.updated_at for n in notices), default=utcnow())
    ET.SubElement(root, f"{{{ATOM}}}updated").text = updated.isoformat()
    ET.SubElement(root, f"{{{ATOM}}}link", rel="self", href=f"{base_url}/status.atom")
    ET.SubElement(root, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=f"{base_url}/status")
    author = ET.SubElement(root, f"{{{ATOM}}}author")
    ET.SubElement(author, f"{{{ATOM}}}name").text = "Invånartjänster e-hälsa"
    for notice in notices:
        entry = ET.SubElement(root, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}id").text = _tag_id(base_url, notice)
        ET.SubElement(entry, f"{{{ATOM}}}title").text = f"{KIND_LABELS[notice.kind]}: {notice.title}"
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = notice.updated_at.isoformat()
        if notice.published_at:
            ET.SubElement(entry, f"{{{ATOM}}}published").text = notice.published_at.isoformat()
        ET.SubElement(
            entry,
            f"{{{ATOM}}}link",
            rel="alternate",
            type="text/html",
            href=f"{base_url}/status/{notice.uid}",
        )
        ET.SubElement(
            entry, f"{{{ATOM}}}category", term=notice.kind.value, label=str(KIND_LABELS[notice.kind])
        )
        summary = f"{STATUS_LABELS[notice.status]}. " + ", ".join(s.name for s in notice.services)
        ET.SubElement(entry, f"{{{ATOM}}}summary").text = summary.strip()
        ET.SubElement(entry, f"{{{ATOM}}}content", type="html").text = str(_content(notice))
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
