"""Reading and saving the required public pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from string import Template

from sqlalchemy import select
from sqlalchemy.orm import Session

from commsplan.pages.models import PublicPage, PublicPageKind
from commsplan.timeutil import utcnow

DEFAULTS = Path(__file__).parent / "defaults"
LANGUAGES = ("sv", "en")


@dataclass(frozen=True)
class PageText:
    title: str
    body_markdown: str
    updated_at: datetime | None  # None: the shipped default, never edited


@dataclass(frozen=True)
class PageData:
    title_sv: str
    body_sv: str
    title_en: str = ""
    body_en: str = ""


def default_text(kind: PublicPageKind, language: str, *, contact_email: str, organisation: str) -> PageText:
    """The shipped text: ``defaults/<kind>.<language>.md``, first line ``# Title``."""
    language = language if language in LANGUAGES else "sv"
    source = (DEFAULTS / f"{kind.value}.{language}.md").read_text(encoding="utf-8")
    filled = Template(source).safe_substitute(contact_email=contact_email, organisation=organisation)
    heading, _newline, body = filled.partition("\n")
    return PageText(title=heading.removeprefix("# ").strip(), body_markdown=body.strip(), updated_at=None)


def stored(session: Session, kind: PublicPageKind) -> PublicPage | None:
    return session.scalars(select(PublicPage).where(PublicPage.kind == kind.value)).first()


def page_text(
    session: Session, kind: PublicPageKind, language: str, *, contact_email: str, organisation: str
) -> PageText:
    """What the public sees in ``language``: the admin's text, else the shipped default."""
    fallback = default_text(kind, language, contact_email=contact_email, organisation=organisation)
    row = stored(session, kind)
    if row is None:
        return fallback
    if language == "en":
        if not row.body_en.strip():
            return fallback
        return PageText(row.title_en.strip() or fallback.title, row.body_en, row.updated_at)
    return PageText(row.title_sv, row.body_sv, row.updated_at)


def save(
    session: Session, kind: PublicPageKind, data: PageData, *, editor: str, now: datetime | None = None
) -> PublicPage:
    """Store the page's text; the caller commits."""
    row = stored(session, kind)
    if row is None:
        row = PublicPage(kind=kind.value)
        session.add(row)
    row.title_sv = data.title_sv.strip()
    row.body_sv = data.body_sv.strip()
    row.title_en = data.title_en.strip()
    row.body_en = data.body_en.strip()
    row.updated_by = editor[:254]
    row.updated_at = now or utcnow()
    session.flush()
    return row
