"""Domain logic for the plan. Functions take an explicit session; no request access."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from commsplan.plan.models import Channel, Contact, Plan, Recipient, Service, StakeholderGroup


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


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def overview(session: Session) -> Overview:
    return Overview(
        plan=current_plan(session),
        stakeholder_groups=_count(session, StakeholderGroup),
        recipients=_count(session, Recipient),
        contacts=_count(session, Contact),
        channels=_count(session, Channel),
        services=_count(session, Service),
    )
