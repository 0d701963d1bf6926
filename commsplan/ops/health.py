"""Readiness: can this process serve and is mail flowing? Read by /readyz and /metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, or_, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from commsplan.delivery.models import DeliveryState, OutboxItem

DUE_STATES = (DeliveryState.queued, DeliveryState.retrying)


@dataclass
class Readiness:
    checks: dict[str, dict[str, object]] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return all(check["ok"] for check in self.checks.values())

    def as_json(self) -> dict[str, object]:
        return {"status": "ready" if self.ready else "unavailable", "checks": self.checks}


@cache
def migration_heads(directory: str) -> frozenset[str]:
    """The newest revisions in the migrations folder; fixed for the life of a process."""
    config_directory = ScriptDirectory(directory)
    return frozenset(config_directory.get_heads())


def database_revisions(session: Session) -> frozenset[str]:
    context = MigrationContext.configure(session.connection())
    return frozenset(context.get_current_heads())


def due_since_expression():  # type: ignore[no-untyped-def]
    """When an outbox item became due: its retry time, or when it was queued."""
    return func.coalesce(OutboxItem.next_attempt_at, OutboxItem.created_at)


def oldest_due_at(session: Session, now: datetime) -> datetime | None:
    """When the mail that has waited longest for sending became due; None if none waits."""
    due_since = due_since_expression()
    return session.scalar(
        select(func.min(due_since)).where(
            OutboxItem.state.in_(DUE_STATES),
            or_(OutboxItem.next_attempt_at.is_(None), OutboxItem.next_attempt_at <= now),
        )
    )


def readiness(session: Session, migrations_directory: str, now: datetime, max_queue_age: float) -> Readiness:
    result = Readiness()
    try:
        session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        session.rollback()
        result.checks["database"] = {"ok": False, "error": type(error).__name__}
        return result
    result.checks["database"] = {"ok": True}

    expected = migration_heads(migrations_directory)
    current = database_revisions(session)
    result.checks["migrations"] = {
        "ok": current == expected,
        "database": sorted(current),
        "code": sorted(expected),
    }

    try:
        oldest = oldest_due_at(session, now)
    except SQLAlchemyError as error:
        # A database far behind its migrations may not have the outbox yet.
        session.rollback()
        result.checks["outbox"] = {"ok": False, "error": type(error).__name__}
        return result
    age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    result.checks["outbox"] = {
        "ok": age <= max_queue_age,
        "oldest_due_age_seconds": round(age, 1),
        "max_age_seconds": max_queue_age,
    }
    return result
