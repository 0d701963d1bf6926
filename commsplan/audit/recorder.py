"""The flush listener that writes ``audit_entry`` rows.

It resolves the acting user itself (the API's token user, else the logged-in user, else
none: the worker and CLI), so services keep taking explicit arguments and never read the
request. Rows are inserted on the flush's own connection: same transaction as the change.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from flask import g, has_request_context
from sqlalchemy import event, insert, inspect, select
from sqlalchemy.orm import Session

from commsplan.audit.models import AuditEntry
from commsplan.timeutil import utcnow

# Rows that are a log themselves, caches, or machinery: their churn is not history.
IGNORED_TABLES = frozenset(
    {
        "audit_entry",
        "outbox_item",
        "outgoing_message",
        "notice_schedule_event",
        "feed_cache",
        "activity_setting",
        "activity_answer",
        "activity_group",
        "notice_audience_edit",
    }
)
# Columns whose change alone is not a change anybody made (bookkeeping), or is secret.
IGNORED_COLUMNS = frozenset(
    {
        "updated_at",
        "created_at",
        "last_used_at",
        "password_hash",
        "token_hash",
        "sequence",
        "materialised_until",
    }
)
SECRET_COLUMNS = frozenset({"password_hash", "token_hash", "token"})
LABEL_ATTRIBUTES = ("title", "name", "email", "text", "role", "key")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)[:500]


def _label(obj: Any) -> str:
    for name in LABEL_ATTRIBUTES:
        value = getattr(obj, name, None)
        if isinstance(value, str) and value:
            return value[:300]
    return ""


def _actor() -> tuple[int | None, str]:
    if not has_request_context():
        return None, ""
    # Only users already loaded for this request: loading one here would query mid-flush.
    user = g.get("api_user") or g.get("_login_user")
    if user is None or not getattr(user, "is_authenticated", False):
        return None, ""
    return user.id, (user.name or user.email)[:200]


def _unloaded_old_values(session: Session, obj: Any) -> dict[str, Any]:
    """Old values of changed attributes that were never loaded (set right after a commit
    expired them): read from the row, which still holds them before the flush."""
    state = inspect(obj)
    keys = [
        c.key
        for c in state.mapper.column_attrs
        if c.key not in IGNORED_COLUMNS
        and state.attrs[c.key].history.added
        and not state.attrs[c.key].history.deleted
    ]
    if not keys or state.identity is None:
        return {}
    columns = [state.mapper.get_property(key).columns[0] for key in keys]
    primary = state.mapper.primary_key
    row = (
        session.connection()
        .execute(
            select(*columns).where(*(pk == value for pk, value in zip(primary, state.identity, strict=True)))
        )
        .first()
    )
    return dict(zip(keys, row, strict=True)) if row is not None else {}


def _before_flush(session: Session, flush_context: Any, instances: Any) -> None:
    old: dict[int, dict[str, Any]] = session.info.setdefault("audit_old", {})
    for obj in session.dirty:
        table = getattr(getattr(obj, "__table__", None), "name", None)
        if table is None or table in IGNORED_TABLES:
            continue
        values = _unloaded_old_values(session, obj)
        if values:
            old[id(obj)] = values


def _changes(obj: Any, unloaded: dict[str, Any]) -> dict[str, list[str]]:
    state = inspect(obj)
    changes = {}
    for column in state.mapper.column_attrs:
        if column.key in IGNORED_COLUMNS:
            continue
        history = state.attrs[column.key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else unloaded.get(column.key)
        new = history.added[0] if history.added else None
        if _text(old) == _text(new):
            continue
        secret = column.key in SECRET_COLUMNS
        changes[column.key] = ["…" if secret else _text(old), "…" if secret else _text(new)]
    return changes


def _action_for_new(obj: Any) -> tuple[str, str, int | None, str] | None:
    """A notice's timeline entry is the notice being published or sent, not a new object."""
    table = obj.__table__.name
    if table == "notice_update":
        if _text(getattr(obj, "kind", "")) == "published":
            return "skip", "", None, ""  # recorded as the notice's status change
        return "sent", "notice", obj.notice_id, _label(obj.notice) if obj.notice is not None else ""
    return None


def _after_flush(session: Session, flush_context: Any) -> None:
    rows: list[dict[str, Any]] = []
    unloaded = session.info.pop("audit_old", {})
    actor_id, actor_name = _actor()
    now = utcnow()

    def add(
        action: str, table: str, object_id: int | None, label: str, changes: dict[str, list[str]]
    ) -> None:
        rows.append(
            {
                "at": now,
                "actor_id": actor_id,
                "actor_name": actor_name,
                "action": action,
                "object_type": table,
                "object_id": object_id,
                "object_label": label,
                "changes": changes,
            }
        )

    for obj in session.new:
        table = getattr(getattr(obj, "__table__", None), "name", None)
        if table is None or table in IGNORED_TABLES:
            continue
        special = _action_for_new(obj)
        if special is not None:
            action, object_type, object_id, label = special
            if action != "skip":
                add(action, object_type, object_id, label, {})
            continue
        add("created", table, getattr(obj, "id", None), _label(obj), {})
    for obj in session.dirty:
        table = getattr(getattr(obj, "__table__", None), "name", None)
        if table is None or table in IGNORED_TABLES or table == "notice_update":
            continue
        if not session.is_modified(obj, include_collections=False):
            continue
        changes = _changes(obj, unloaded.get(id(obj), {}))
        if not changes:
            continue
        # Publishing or sending an update changes the notice too (start, state): one entry.
        event = next(
            (
                r
                for r in rows
                if r["object_type"] == table and r["object_id"] == obj.id and r["action"] != "created"
            ),
            None,
        )
        if event is not None:
            event["changes"] = changes
        elif table == "notice" and changes.get("status", ["", ""])[1] == "published":
            add("published", table, obj.id, _label(obj), changes)
        else:
            add("changed", table, getattr(obj, "id", None), _label(obj), changes)
    for obj in session.deleted:
        table = getattr(getattr(obj, "__table__", None), "name", None)
        if table is None or table in IGNORED_TABLES or table == "notice_update":
            continue
        add("deleted", table, getattr(obj, "id", None), _label(obj), {})
    if rows:
        session.connection().execute(insert(AuditEntry), rows)


def install() -> None:
    """Listen on every ORM session; idempotent, as each app built by the factory calls it."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_flush", _after_flush)
