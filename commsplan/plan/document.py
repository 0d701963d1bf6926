"""The plan as a document: one structure, rendered both as HTML and as Markdown.

``build_document`` reads the plan's rows and lays them out in the order of the region's
original *kommunikationsplan* (seed 003). The page template and ``to_markdown`` only walk
this structure, so the printed page and the download can never say different things.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from flask import Flask
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from commsplan.plan.labels import label
from commsplan.plan.models import (
    Channel,
    Collaboration,
    Dependency,
    Plan,
    Recipient,
    Responsibility,
    Service,
    StakeholderGroup,
    System,
    Unit,
    UnitKind,
)
from commsplan.timeutil import local


@dataclass(frozen=True)
class Link:
    text: str
    url: str = ""


@dataclass(frozen=True)
class Text:
    """Plain text; blank lines separate paragraphs, single line breaks are kept."""

    kind: ClassVar[str] = "text"
    text: str

    @property
    def paragraphs(self) -> list[str]:
        return [p.strip() for p in re.split(r"\n\s*\n", self.text.strip()) if p.strip()]


@dataclass(frozen=True)
class Items:
    kind: ClassVar[str] = "items"
    items: list[str | Link]
    ordered: bool = False


@dataclass(frozen=True)
class Needs:
    """A stakeholder group: its name, the lead-in (*För att kunna:*) and its needs."""

    kind: ClassVar[str] = "needs"
    group: str
    lead: str
    needs: list[str]


@dataclass(frozen=True)
class Cell:
    text: str | Link = ""
    # Rows this cell covers: 1 normally, n on the first of n merged rows, 0 when covered.
    rowspan: int = 1
    header: bool = False  # a row header (``<th scope="row">``)


@dataclass(frozen=True)
class Table:
    kind: ClassVar[str] = "table"
    headers: list[str]
    rows: list[list[Cell]]
    caption: str = ""
    css_class: str = ""


@dataclass(frozen=True)
class Empty:
    """Says that a part of the plan has no rows yet."""

    kind: ClassVar[str] = "empty"
    text: str


Block = Text | Items | Needs | Table | Empty


@dataclass(frozen=True)
class Section:
    anchor: str
    title: str
    blocks: list[Block] = field(default_factory=list)


@dataclass(frozen=True)
class Document:
    title: str
    region: str
    version: str
    updated_at: datetime
    sections: list[Section]

    @property
    def updated_label(self) -> str:
        return local(self.updated_at).strftime("%Y-%m-%d %H:%M")


def _text_blocks(text: str) -> list[Block]:
    return [Text(text.strip())] if text and text.strip() else []


def _stakeholders(session: Session, plan: Plan) -> Section:
    groups = session.scalars(
        select(StakeholderGroup)
        .where(StakeholderGroup.in_use())
        .options(selectinload(StakeholderGroup.needs))
        .order_by(StakeholderGroup.position, StakeholderGroup.name)
    ).all()
    blocks: list[Block] = _text_blocks(plan.stakeholders_intro)
    for group in groups:
        lead = label(group.need_kind)
        blocks.append(
            Needs(group.name, lead[:1].upper() + lead[1:] + ":", [need.text for need in group.needs])
        )
    if not groups:
        blocks.append(Empty(_("Inga intressenter är inlagda.")))
    return Section("intressenter", _("Intressenter"), blocks)


def _guidelines(plan: Plan) -> Section:
    blocks: list[Block] = _text_blocks(plan.guidelines_intro)
    if plan.guidelines:
        blocks.insert(0, Items([Link(g.title, g.url) for g in plan.guidelines]))
    return Section("riktlinjer", _("Riktlinjer"), blocks or [Empty(_("Inga riktlinjer är inlagda."))])


def _goals(plan: Plan) -> Section:
    if not plan.goals:
        return Section("mal", _("Kommunikationsmål"), [Empty(_("Inga kommunikationsmål är inlagda."))])
    return Section("mal", _("Kommunikationsmål"), [Items([goal.text for goal in plan.goals])])


def _channels(session: Session, plan: Plan) -> Section:
    channels = session.scalars(select(Channel).order_by(Channel.name)).all()
    rows = []
    for channel in channels:
        address: str | Link = channel.address
        if channel.address.startswith(("http://", "https://")):
            address = Link(channel.address, channel.address)
        about = "\n".join(text for text in (channel.audience, channel.description) if text)
        rows.append([Cell(channel.name, header=True), Cell(label(channel.kind)), Cell(address), Cell(about)])
    blocks: list[Block] = _text_blocks(plan.channels_intro)
    headers = [_("Kanal"), _("Typ"), _("Adress"), _("Målgrupp och användning")]
    blocks.append(
        Table(headers, rows, css_class="channels") if rows else Empty(_("Inga kanaler är inlagda."))
    )
    return Section("kanaler", _("Kommunikationskanaler"), blocks)


def _role(recipient: Recipient) -> str:
    route = recipient.contact_route or (recipient.channel.name if recipient.channel else "")
    return f"{recipient.role} ({route})" if route else recipient.role


def _recipients(session: Session) -> Section:
    rows = session.scalars(
        select(Recipient)
        .join(Recipient.unit)
        .options(selectinload(Recipient.unit), selectinload(Recipient.channel))
        .order_by(Recipient.position, Unit.name, Recipient.role)
    ).all()
    headers = [_("Mottagare av information"), _("Roll")]
    units = [
        [Cell(r.unit.name, header=True), Cell(_role(r))]
        for r in rows
        if r.unit.kind != UnitKind.system_object
    ]
    objects = [
        [Cell(r.unit.name, header=True), Cell(_role(r))]
        for r in rows
        if r.unit.kind == UnitKind.system_object
    ]
    blocks: list[Block] = []
    if units:
        blocks.append(Table(headers, units, caption=_("Förvaltningar och verksamheter")))
    if objects:
        blocks.append(
            Table(
                [_("Systemförvaltningsobjekt"), _("Roll")],
                objects,
                caption=_("Övriga systemförvaltningsobjekt"),
            )
        )
    return Section(
        "mottagare", _("Mottagare av information"), blocks or [Empty(_("Inga mottagare är inlagda."))]
    )


def _contact(row: Responsibility) -> str:
    if row.channel and row.contact_route:
        return f"{row.channel.name}: {row.contact_route}"
    return row.contact_route or (row.channel.name if row.channel else "")


def _responsibilities(session: Session, plan: Plan) -> Section:
    services = session.scalars(
        select(Service)
        .where(Service.in_use())
        .options(
            selectinload(Service.responsibilities)
            .selectinload(Responsibility.system)
            .selectinload(System.object_unit),
            selectinload(Service.responsibilities).selectinload(Responsibility.responsible_unit),
            selectinload(Service.responsibilities).selectinload(Responsibility.channel),
        )
        .order_by(Service.position, Service.name)
    ).all()
    rows: list[list[Cell]] = []
    for service in services:
        lines = service.responsibilities
        if not lines:
            rows.append([Cell(service.name, header=True), Cell(), Cell(), Cell(), Cell()])
            continue
        comments = [line.comment for line in lines]
        for index, line in enumerate(lines):
            responsible = line.responsible_unit or (line.system.object_unit if line.system else None)
            # Consecutive equal comments are one cell, as in the original table.
            if index and comments[index] == comments[index - 1]:
                comment = Cell(line.comment, rowspan=0)
            else:
                span = 1
                while index + span < len(lines) and comments[index + span] == line.comment:
                    span += 1
                comment = Cell(line.comment, rowspan=span)
            rows.append(
                [
                    Cell(service.name, rowspan=len(lines) if index == 0 else 0, header=True),
                    Cell(line.system.name if line.system else "–"),
                    Cell(responsible.name if responsible else ""),
                    Cell(_contact(line)),
                    comment,
                ]
            )
    blocks: list[Block] = _text_blocks(plan.responsibility_intro)
    headers = [_("Tjänster"), _("Mot system"), _("Ansvarig"), _("Kontakt"), _("Kommentar")]
    blocks.append(
        Table(headers, rows, css_class="responsibilities")
        if rows
        else Empty(_("Inga e-tjänster är inlagda."))
    )
    return Section("ansvar", _("Kontakter och ansvar per tjänst"), blocks)


def _collaboration(session: Session, plan: Plan) -> Section:
    blocks: list[Block] = _text_blocks(plan.collaboration)
    dependencies = session.scalars(
        select(Dependency)
        .options(selectinload(Dependency.service), selectinload(Dependency.system))
        .order_by(Dependency.id)
    ).all()
    whole = [d.system.name for d in dependencies if d.service is None]
    if whole:
        blocks.append(Text(_("Invånartjänster e-hälsa har i dagsläget beroenden till:")))
        blocks.append(Items(list(whole)))
    per_service = [d for d in dependencies if d.service is not None]
    if per_service:
        blocks.append(
            Table(
                [_("E-tjänst"), _("Beroende av system"), _("Anmärkning")],
                [[Cell(d.service.name, header=True), Cell(d.system.name), Cell(d.note)] for d in per_service],
                caption=_("Beroenden per e-tjänst"),
            )
        )
    collaborations = session.scalars(
        select(Collaboration).order_by(Collaboration.position, Collaboration.name)
    ).all()
    if collaborations:
        blocks.append(
            Table(
                [_("Samverkan"), _("Hur ofta"), _("Med vilka")],
                [[Cell(c.name, header=True), Cell(c.cadence), Cell(c.participants)] for c in collaborations],
                caption=_("Samverkan och mötesrytm"),
            )
        )
    return Section(
        "samverkan",
        _("Samverkan inom %(region)s", region=plan.region),
        blocks or [Empty(_("Ingen samverkan är inlagd."))],
    )


# A feature that adds to the plan (e.g. audience: who gets what) registers a section
# builder placed after one of ours, so ``plan`` never imports the feature.
SectionBuilder = Callable[[Session], Section]
EXTENSION_KEY = "commsplan_document_sections"


def register_section(app: Flask, after: str, builder: SectionBuilder) -> None:
    """Show ``builder``'s section in the plan document after the section ``after``."""
    app.extensions.setdefault(EXTENSION_KEY, {}).setdefault(after, []).append(builder)


def registered_sections(app: Flask) -> Mapping[str, Sequence[SectionBuilder]]:
    return app.extensions.get(EXTENSION_KEY, {})


def build_document(
    session: Session, plan: Plan, extra: Mapping[str, Sequence[SectionBuilder]] | None = None
) -> Document:
    """The whole plan, section by section, in the order of the original document;
    ``extra`` sections (from ``registered_sections``) follow the section they name."""
    sections = [
        Section("syfte", _("Syfte"), _text_blocks(plan.purpose) or [Empty(_("Syftet är inte ifyllt."))]),
        _stakeholders(session, plan),
        _guidelines(plan),
        _goals(plan),
        _channels(session, plan),
        _recipients(session),
        _responsibilities(session, plan),
        Section(
            "spridning",
            _("Informationsspridning och ansvarsfördelning"),
            _text_blocks(plan.dissemination) or [Empty(_("Avsnittet är inte ifyllt."))],
        ),
        _collaboration(session, plan),
        # The checklist ("checklista") is added by activities, whose checklist template
        # holds the questions every activity answers: one source for both.
    ]
    if extra:
        sections = [
            added
            for section in sections
            for added in [section, *(b(session) for b in extra.get(section.anchor, []))]
        ]
    return Document(plan.title, plan.region, plan.version, plan.updated_at, sections)


# --- Markdown -------------------------------------------------------------------------

_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<>|#!])")
_BLOCK_START = re.compile(r"^(\s*)([-+>]|\d+[.)])(\s)")


def md_escape(text: str) -> str:
    """Escape user text so Markdown shows it literally (no links, HTML or emphasis)."""
    escaped = _INLINE_SPECIAL.sub(r"\\\1", text)
    return _BLOCK_START.sub(lambda m: m.group(1) + "\\" + m.group(2) + m.group(3), escaped)


def _md_url(url: str) -> str:
    # Only web links become links; anything else is shown as text.
    if not url.startswith(("http://", "https://")):
        return ""
    return (
        url.replace(" ", "%20")
        .replace("(", "%28")
        .replace(")", "%29")
        .replace("<", "%3C")
        .replace(">", "%3E")
    )


def _md_inline(value: str | Link) -> str:
    if isinstance(value, Link):
        url = _md_url(value.url)
        return f"[{md_escape(value.text)}]({url})" if url else md_escape(value.text)
    return md_escape(value)


def _md_paragraphs(block: Text) -> list[str]:
    out = []
    for paragraph in block.paragraphs:
        lines = [md_escape(line.strip()) for line in paragraph.splitlines() if line.strip()]
        out.append("  \n".join(lines))  # two trailing spaces: a hard line break
    return out


def _md_cell(cell: Cell) -> str:
    text = "" if cell.rowspan == 0 and cell.header else _md_inline(cell.text)
    return text.replace("\n", "<br>") if text else " "


def _md_block(block: Block) -> list[str]:
    if isinstance(block, Text):
        return _md_paragraphs(block)
    if isinstance(block, Empty):
        return [f"*{md_escape(block.text)}*"]
    if isinstance(block, Items):
        return [
            "\n".join(
                f"{i}. {_md_inline(item)}" if block.ordered else f"- {_md_inline(item)}"
                for i, item in enumerate(block.items, 1)
            )
        ]
    if isinstance(block, Needs):
        heading = f"### {md_escape(block.group)}"
        if not block.needs:
            return [heading]
        return [
            heading,
            f"*{md_escape(block.lead)}*",
            "\n".join(f"- {md_escape(need)}" for need in block.needs),
        ]
    if isinstance(block, Table):
        lines = []
        if block.caption:
            lines.append(f"**{md_escape(block.caption)}**\n")
        lines.append("| " + " | ".join(md_escape(h) for h in block.headers) + " |")
        lines.append("|" + "|".join("---" for _h in block.headers) + "|")
        for row in block.rows:
            lines.append("| " + " | ".join(_md_cell(cell) for cell in row) + " |")
        return ["\n".join(lines)]
    raise TypeError(f"unknown block {block!r}")


def to_markdown(document: Document) -> str:
    parts = [
        f"# {md_escape(document.title)}",
        md_escape(f"{document.region} · ")
        + _(
            "Version %(version)s, uppdaterad %(updated)s",
            version=md_escape(document.version),
            updated=document.updated_label,
        ),
        "## "
        + _("Innehåll")
        + "\n\n"
        + "\n".join(f"{i}. {md_escape(s.title)}" for i, s in enumerate(document.sections, 1)),
    ]
    for section in document.sections:
        parts.append(f"## {md_escape(section.title)}")
        for block in section.blocks:
            parts.extend(_md_block(block))
    return "\n\n".join(parts) + "\n"
