"""Editing the plan itself: its texts, goals, guidelines and collaborations.

Functions take an explicit session and leave committing to the caller. Every change
touches ``Plan.updated_at`` so the document shows when the plan last changed.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from commsplan.plan.models import Collaboration, Goal, Guideline, Plan
from commsplan.plan.services import current_plan
from commsplan.timeutil import utcnow

PLAN_FIELDS = (
    "region",
    "title",
    "version",
    "purpose",
    "stakeholders_intro",
    "guidelines_intro",
    "channels_intro",
    "responsibility_intro",
    "dissemination",
    "collaboration",
)

# The plan's ordered parts. Goals, guidelines and questions belong to the plan; a
# collaboration stands on its own but is still part of the plan document.
PlanItem = Goal | Guideline | Collaboration
I = TypeVar("I", Goal, Guideline, Collaboration)  # noqa: E741


class PlanMissing(LookupError):
    """The plan row does not exist yet, so nothing can be added to it."""


class DuplicateName(ValueError):
    """Another collaboration already has this name."""


def touch(session: Session) -> None:
    plan = current_plan(session)
    if plan is not None:
        plan.updated_at = utcnow()


def save_plan(session: Session, data: dict[str, Any]) -> Plan:
    """Update the plan's texts, creating the plan row when there is none yet."""
    plan = current_plan(session)
    if plan is None:
        plan = Plan()
        session.add(plan)
    for name in PLAN_FIELDS:
        if name in data:
            setattr(plan, name, (data[name] or "").strip())
    plan.updated_at = utcnow()
    session.flush()
    return plan


def _owned_by_plan(model: type[PlanItem]) -> bool:
    return model is not Collaboration


def list_items(session: Session, model: type[I]) -> list[I]:
    query = select(model)
    if _owned_by_plan(model):
        plan = current_plan(session)
        if plan is None:
            return []
        query = query.where(model.plan_id == plan.id)
    return list(session.scalars(query.order_by(model.position, model.id)))


def get_item(session: Session, model: type[I], item_id: int) -> I | None:
    item = session.get(model, item_id)
    if item is None:
        return None
    if _owned_by_plan(model):
        plan = current_plan(session)
        if plan is None or item.plan_id != plan.id:
            return None
    return item


def _check_name(session: Session, model: type[PlanItem], data: dict[str, Any], item_id: int | None) -> None:
    if model is not Collaboration:
        return
    name = (data.get("name") or "").strip()
    other = session.scalar(
        select(Collaboration).where(
            func.lower(Collaboration.name) == name.lower(), Collaboration.id != (item_id or -1)
        )
    )
    if other is not None:
        raise DuplicateName(name)


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value.strip() if isinstance(value, str) else value for key, value in data.items()}


def add_item(session: Session, model: type[I], data: dict[str, Any]) -> I:
    """Add an item last in its list."""
    _check_name(session, model, data, None)
    values = _clean(data)
    query = select(func.max(model.position))
    if _owned_by_plan(model):
        plan = current_plan(session)
        if plan is None:
            raise PlanMissing
        values["plan_id"] = plan.id
        query = query.where(model.plan_id == plan.id)
    values["position"] = (session.scalar(query) or 0) + 1
    item = model(**values)
    session.add(item)
    touch(session)
    session.flush()
    return item


def update_item(session: Session, item: PlanItem, data: dict[str, Any]) -> None:
    _check_name(session, type(item), data, item.id)
    for key, value in _clean(data).items():
        setattr(item, key, value)
    touch(session)
    session.flush()


def delete_item(session: Session, item: PlanItem) -> None:
    session.delete(item)
    touch(session)
    session.flush()


def move_item(session: Session, item: I, direction: Literal["up", "down"]) -> bool:
    """Swap ``item`` with its neighbour; False when it is already first or last."""
    items = list_items(session, type(item))
    index = items.index(item)
    target = index - 1 if direction == "up" else index + 1
    if not 0 <= target < len(items):
        return False
    items[index], items[target] = items[target], items[index]
    # Renumber the whole list: positions may have gaps or ties from earlier edits.
    for position, each in enumerate(items, 1):
        each.position = position
    touch(session)
    session.flush()
    return True
