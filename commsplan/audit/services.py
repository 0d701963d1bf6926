"""Reading and trimming the history."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from commsplan.audit.models import AuditEntry

ACTIONS = ("created", "changed", "deleted", "published", "sent")


def for_object(session: Session, object_type: str, object_id: int, limit: int = 100) -> list[AuditEntry]:
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.object_type == object_type, AuditEntry.object_id == object_id)
            .order_by(AuditEntry.id.desc())
            .limit(limit)
        )
    )


def search(
    session: Session,
    text: str = "",
    object_type: str = "",
    action: str = "",
    *,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[AuditEntry], int]:
    query = select(AuditEntry)
    if text:
        pattern = f"%{text.lower()}%"
        query = query.where(
            or_(
                func.lower(AuditEntry.object_label).like(pattern),
                func.lower(AuditEntry.actor_name).like(pattern),
            )
        )
    if object_type:
        query = query.where(AuditEntry.object_type == object_type)
    if action:
        query = query.where(AuditEntry.action == action)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit).offset(offset)))
    return rows, total


def object_types(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEntry.object_type).distinct().order_by(AuditEntry.object_type)))


def purge(session: Session, now: datetime, retention_days: int) -> int:
    """Delete entries older than the retention period; returns how many."""
    result = session.execute(
        delete(AuditEntry).where(AuditEntry.at < now - timedelta(days=int(retention_days)))
    )
    session.commit()
    return result.rowcount or 0  # type: ignore[attr-defined]
