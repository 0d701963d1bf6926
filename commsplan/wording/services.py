"""Choosing the core message for a reader from the per-group texts a notice carries."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from commsplan.plan.models import StakeholderGroup, contact_stakeholder_group

EXTENSION_KEY = "commsplan_wording_sources"


@dataclass(frozen=True)
class GroupWording:
    """One group's core message about a notice."""

    group_id: int
    group_name: str
    text: str


# (session, notice id) -> the texts, most relevant first (activity order, then the
# activity's own order of its groups).
WordingSource = Callable[[Session, int], list[GroupWording]]


def register_wording_source(app: Flask, name: str, source: WordingSource) -> None:
    # Per app, on app.extensions: nothing shared between processes or test apps.
    app.extensions.setdefault(EXTENSION_KEY, {})[name] = source


def wordings_for_notice(session: Session, notice_id: int) -> list[GroupWording]:
    wordings: list[GroupWording] = []
    for source in current_app.extensions.get(EXTENSION_KEY, {}).values():
        wordings.extend(w for w in source(session, notice_id) if w.text.strip())
    return wordings


def choose(wordings: Sequence[GroupWording], group_ids: Iterable[int]) -> GroupWording | None:
    """The wording for the reader's first group (in the reader's order) that has one; the
    first text given for a group wins."""
    by_group: dict[int, GroupWording] = {}
    for wording in wordings:
        by_group.setdefault(wording.group_id, wording)
    for group_id in group_ids:
        if group_id in by_group:
            return by_group[group_id]
    return None


def choose_by_names(wordings: Sequence[GroupWording], group_names: Iterable[str]) -> GroupWording | None:
    """As ``choose``, for groups named in configuration (the public status page)."""
    by_name: dict[str, GroupWording] = {}
    for wording in wordings:
        by_name.setdefault(wording.group_name.casefold(), wording)
    for name in group_names:
        if name.casefold() in by_name:
            return by_name[name.casefold()]
    return None


def groups_of_contacts(session: Session, contact_ids: Iterable[int | None]) -> dict[int, list[int]]:
    """Contact id -> the ids of its stakeholder groups now, in the groups' order; one query."""
    ids = sorted({c for c in contact_ids if c is not None})
    if not ids:
        return {}
    rows = session.execute(
        select(contact_stakeholder_group.c.contact_id, contact_stakeholder_group.c.group_id)
        .join(StakeholderGroup, StakeholderGroup.id == contact_stakeholder_group.c.group_id)
        .where(contact_stakeholder_group.c.contact_id.in_(ids))
        .order_by(StakeholderGroup.position, StakeholderGroup.name, StakeholderGroup.id)
    )
    groups: dict[int, list[int]] = {}
    for contact_id, group_id in rows:
        groups.setdefault(contact_id, []).append(group_id)
    return groups
