"""The one layer every input passes through: ids, integers, text and dates.

URLs, forms and the API all use these helpers, so a value the database cannot hold is
refused where it enters, with a Swedish message and a 4xx, instead of failing deep in a
query (a 500):

- ids and integers: whole numbers within the database's ``INTEGER`` (PostgreSQL stops at
  2**31 - 1; SQLite raises OverflowError past 2**63), never fractions (``2.5`` is refused,
  not stored as 2);
- text: no NUL byte (PostgreSQL refuses it in text columns) and no other C0 control
  character except tab and line breaks;
- dates: years 1970 to 2199, so date arithmetic (a window's end plus a day, a UTC
  conversion) cannot leave Python's range.

``IdConverter`` replaces Flask's ``int`` URL converter and ``TextConverter`` its default
one; ``commsplan.forms.BaseForm``
adds the validators to every field of every form; the API's schemas
(``commsplan.api.schemas``) add them to every field of every schema.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from flask_babel import lazy_gettext as _l
from werkzeug.routing import IntegerConverter, PathConverter, UnicodeConverter, ValidationError

DB_INT_MAX = 2**31 - 1  # PostgreSQL INTEGER, the type of every id and count column
EARLIEST_DATE = date(1970, 1, 1)
LATEST_DATE = date(2199, 12, 31)
# NUL and the other C0 controls, but not tab, line feed and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WHOLE_NUMBER = re.compile(r"[+-]?\d{1,12}")

TEXT_MESSAGE = _l("Texten innehåller otillåtna tecken (till exempel NUL). Ta bort dem och försök igen.")
INTEGER_MESSAGE = _l("Ange ett heltal mellan %(low)s och %(high)s.")
DATE_MESSAGE = _l("Ange ett datum mellan %(low)s och %(high)s.")


# Links people may follow from pages, mail and calendars; nothing else is a link
# (``javascript:``, ``data:``, ``file:`` … are refused where they enter).
WEB = ("https", "http")
WEB_OR_MAIL = ("https", "http", "mailto")
URL_MESSAGE = _l("Ange en fullständig webbadress som börjar med https:// eller http://.")
URL_OR_MAIL_MESSAGE = _l(
    "Ange en fullständig webbadress (https:// eller http://) eller mailto:namn@exempel.se."
)
_MAILTO = re.compile(r"[^@\s/?#]+@[^@\s/?#]+\.[^@\s/?#]+")


class InputError(ValueError):
    """A value outside what the database and the app can hold; ``str()`` is for the user."""


def text_problem(value: object) -> str | None:
    if isinstance(value, str) and _CONTROL.search(value):
        return str(TEXT_MESSAGE)
    return None


def integer_problem(value: object, low: int = -DB_INT_MAX, high: int = DB_INT_MAX) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return str(INTEGER_MESSAGE % {"low": low, "high": high})
    return None


def date_problem(value: object) -> str | None:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date) and not EARLIEST_DATE <= value <= LATEST_DATE:
        return str(DATE_MESSAGE % {"low": EARLIEST_DATE.isoformat(), "high": LATEST_DATE.isoformat()})
    return None


def url_problem(value: str | None, schemes: tuple[str, ...] = WEB) -> str | None:
    """Why ``value`` is not a link we put in a page, mail or calendar; None if it is one
    (or empty). http(s) needs a host name, mailto: one address; no whitespace at all."""
    if not value:
        return None
    message = str(URL_MESSAGE if "mailto" not in schemes else URL_OR_MAIL_MESSAGE)
    if any(c.isspace() for c in value) or _CONTROL.search(value):
        return message
    try:
        parts = urlsplit(value)
        if parts.scheme.lower() not in schemes:
            return message
        if parts.scheme.lower() == "mailto":
            return None if _MAILTO.fullmatch(parts.path) and not parts.netloc else message
        _port = parts.port  # raises ValueError for a port that is not a number
        host = (parts.hostname or "").strip(".")
        # A name with a dot (or localhost): "https://intranet" is a typo, not a link.
        return None if "." in host or host == "localhost" else message
    except ValueError:
        return message


def parse_int(text: Any, low: int = -DB_INT_MAX, high: int = DB_INT_MAX) -> int:
    """A whole number written in decimal within ``low``..``high``; raises ``InputError``.

    Usable as ``request.args.get("page", 1, type=parse_id)``: werkzeug then falls back to
    the default for anything else.
    """
    if isinstance(text, bool):
        raise InputError(str(INTEGER_MESSAGE % {"low": low, "high": high}))
    if isinstance(text, int):
        value = text
    else:
        stripped = str(text).strip()
        # The length check comes first: int() of a 5,000-digit string is slow by design.
        if not _WHOLE_NUMBER.fullmatch(stripped):
            raise InputError(str(INTEGER_MESSAGE % {"low": low, "high": high}))
        value = int(stripped)
    if problem := integer_problem(value, low, high):
        raise InputError(problem)
    return value


def parse_id(text: Any) -> int:
    """A row id: 1 to the largest the database's integer column holds."""
    return parse_int(text, 1, DB_INT_MAX)


def clean_text(value: str) -> str:
    """Refuse text the database cannot store; raises ``InputError``."""
    if problem := text_problem(value):
        raise InputError(problem)
    return value


class IdConverter(IntegerConverter):
    """Flask's ``<int:…>`` with the database's bound: a larger id is a 404, not a 500."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's name
        kwargs.setdefault("max", DB_INT_MAX)
        super().__init__(map, *args, **kwargs)

    def to_python(self, value: str) -> Any:
        # Python refuses int() of more than 4,300 digits with a ValueError (a 500).
        if len(value) > len(str(DB_INT_MAX)):
            raise ValidationError()
        return super().to_python(value)


class TextConverter(UnicodeConverter):
    """Flask's default ``<name>`` segment, refusing NUL and control characters (a 404):
    tokens and uids go into queries, and PostgreSQL refuses NUL in text."""

    def to_python(self, value: str) -> Any:
        if text_problem(value):
            raise ValidationError()
        return super().to_python(value)


class TextPathConverter(PathConverter):
    def to_python(self, value: str) -> Any:
        if text_problem(value):
            raise ValidationError()
        return super().to_python(value)


def init_app(app: Flask) -> None:
    """Must run before any blueprint is registered: rules pick their converter when added."""
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["default"] = TextConverter
    app.url_map.converters["string"] = TextConverter
    app.url_map.converters["path"] = TextPathConverter
