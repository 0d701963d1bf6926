"""The languages mail is written in, and which one each reader gets.

Swedish is the default; a contact whose language is English gets every mail in English.
Callers render a message once per language and send each copy to the readers of that
language, so a fan-out to thousands costs one rendering per language, not per person.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlencode, urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from commsplan.plan.models import Contact

DEFAULT_LANGUAGE = "sv"
MAIL_LANGUAGES = ("sv", "en")


def mail_language(code: str | None) -> str:
    """``code`` if mail can be written in it, else Swedish."""
    code = (code or "").strip().lower()
    return code if code in MAIL_LANGUAGES else DEFAULT_LANGUAGE


def contact_languages(session: Session, contact_ids: Iterable[int | None]) -> dict[int, str]:
    """The mail language of each of ``contact_ids`` that does not read Swedish.

    Reads only the non-Swedish contacts (a handful in a Swedish region) instead of
    passing thousands of ids to the database; everyone missing from the result reads
    Swedish.
    """
    wanted = {cid for cid in contact_ids if cid is not None}
    if not wanted:
        return {}
    rows = session.execute(select(Contact.id, Contact.language).where(Contact.language != DEFAULT_LANGUAGE))
    return {cid: mail_language(language) for cid, language in rows if cid in wanted}


def contact_language(session: Session, contact_id: int | None) -> str:
    """The mail language of one contact (Swedish for unknown or missing contacts)."""
    if contact_id is None:
        return DEFAULT_LANGUAGE
    contact = session.get(Contact, contact_id)
    return mail_language(contact.language if contact else None)


def localised_url(url: str, language: str) -> str:
    """``url`` with ``lang=<language>`` for readers of another language than Swedish, so
    the page a mail links to opens in the mail's language (the locale selector reads it)."""
    language = mail_language(language)
    if language == DEFAULT_LANGUAGE:
        return url
    parts = urlsplit(url)
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit(parts._replace(query=query + urlencode({"lang": language})))
