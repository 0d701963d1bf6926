"""Lists that grow with the region are shown a page at a time."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a longer list."""

    items: Sequence[T]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _clamped(page: int, per_page: int, total: int) -> tuple[int, int]:
    """(page, per_page) within range: a page number past the end gives the last page."""
    per_page = max(1, per_page)
    return min(max(1, page), max(1, math.ceil(total / per_page))), per_page


def paginate(session: Session, stmt: Select[Any], page: int, per_page: int) -> Page[Any]:
    """Run ``stmt`` for one page; a page number past the end gives the last page."""
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    page, per_page = _clamped(page, per_page, total)
    items = session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return Page(items=items, page=page, per_page=per_page, total=total)


def page_of(items: Sequence[T], page: int, per_page: int) -> Page[T]:
    """One page of a list already built in memory (one that has to be whole to be sorted
    or counted, like a notice's resolved recipients), as ``paginate`` pages a query."""
    page, per_page = _clamped(page, per_page, len(items))
    shown = items[(page - 1) * per_page : page * per_page]
    return Page(items=shown, page=page, per_page=per_page, total=len(items))


def contains_text(session: Session, text: str, *columns: Any) -> Any:
    """Any column contains ``text``, ignoring case, with % and _ taken literally.

    SQLite folds only ASCII case in LIKE, so "örjan" would miss "Örjan"; trying the
    usual casings of the term covers Swedish names there (PostgreSQL needs none of it).
    An ASCII term needs one comparison per column: a search over a region's contacts
    runs these on every row. SQLite's LIKE ignores ASCII case by itself and its lower()
    folds nothing more, so there the columns are compared as stored: lower() on every
    row of every column was two thirds of a contact search.
    """
    fold = session.get_bind().dialect.name != "sqlite"

    def match(column: Any, term: str) -> Any:
        if fold:
            return column.icontains(term, autoescape=True)
        return column.contains(term, autoescape=True)

    if text.isascii():
        return or_(*(match(column, text) for column in columns))
    variants = dict.fromkeys([text, text.lower(), text.upper(), text.capitalize(), text.title()])
    return or_(*(match(column, variant) for column in columns for variant in variants))
