"""Domain logic for the plan. Functions take an explicit session; no request access."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from commsplan.plan.models import (
    Channel,
    Collaboration,
    Contact,
    Dependency,
    Goal,
    Guideline,
    InformationNeed,
    Plan,
    Recipient,
    Responsibility,
    Service,
    StakeholderGroup,
    System,
    Unit,
)
from commsplan.timeutil import utcnow

# Everything the plan document shows; a change to any of them is a change to the plan.
DOCUMENT_CONTENT = (
    StakeholderGroup,
    InformationNeed,
    Unit,
    Channel,
    Recipient,
    System,
    Service,
    Responsibility,
    Dependency,
    Collaboration,
    Goal,
    Guideline,
)


@dataclass(frozen=True)
class Overview:
    plan: Plan | None
    stakeholder_groups: int
    recipients: int
    contacts: int
    channels: int
    services: int


def current_plan(session: Session) -> Plan | None:
    return session.scalar(select(Plan).order_by(Plan.id).limit(1))


def _count(session: Session, model: Any) -> int:
    stmt = select(func.count()).select_from(model)
    if hasattr(model, "in_use"):
        stmt = stmt.where(model.in_use())  # retired rows are in the archive, not the plan
    return session.scalar(stmt) or 0


def overview(session: Session) -> Overview:
    return Overview(
        plan=current_plan(session),
        stakeholder_groups=_count(session, StakeholderGroup),
        recipients=_count(session, Recipient),
        contacts=_count(session, Contact),
        channels=_count(session, Channel),
        services=_count(session, Service),
    )


def _touch_plan_when_content_changes(session: Session, flush_context: Any, instances: Any) -> None:
    """Keep ``Plan.updated_at`` true whichever page changed the plan's content."""
    changed = any(
        isinstance(obj, DOCUMENT_CONTENT)
        and (obj in session.new or obj in session.deleted or session.is_modified(obj))
        for obj in (*session.new, *session.dirty, *session.deleted)
    )
    if not changed:
        return
    with session.no_autoflush:
        plan = current_plan(session)
    if plan is not None:
        plan.updated_at = utcnow()


def track_plan_changes() -> None:
    if not event.contains(Session, "before_flush", _touch_plan_when_content_changes):
        event.listen(Session, "before_flush", _touch_plan_when_content_changes)
