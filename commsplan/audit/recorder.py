"""The flush listener that writes ``audit_entry`` rows.

It resolves the acting user itself (the API's token user, else the logged-in user, else
none: the worker and CLI), so services keep taking explicit arguments and never read the
request. Rows are inserted on the flush's own connection: same transaction as the change.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from flask import g, has_request_context
from sqlalchemy import event, insert, inspect, select, update
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


# Rows that belong to a parent: their changes are the parent's changes.
# table -> (parent table, foreign key attribute, how the row is named in the parent's entry)
CHILDREN: dict[str, tuple[str, str, Callable[[Any], str]]] = {
    "activity_group": ("activity", "activity_id", lambda row: row.group.name if row.group else ""),
    "activity_answer": ("activity", "activity_id", lambda row: row.question_text[:80]),
}
CHILD_IGNORED_COLUMNS = frozenset({"id", "position", "answered_at", "question_version", "question_text"})


def _collection_changes(obj: Any) -> dict[str, list[str]]:
    """Many-to-many links (a notice's services, an activity's notices) as before/after names."""
    state = inspect(obj)
    changes = {}
    for relationship in state.mapper.relationships:
        if relationship.secondary is None:
            continue
        history = state.attrs[relationship.key].history
        if not (history.added or history.deleted):
            continue
        kept = list(history.unchanged)
        before = [_label(o) or str(getattr(o, "id", "")) for o in kept + list(history.deleted)]
        after = [_label(o) or str(getattr(o, "id", "")) for o in kept + list(history.added)]
        changes[relationship.key] = [", ".join(before), ", ".join(after)]
    return changes


def _table(obj: Any) -> str | None:
    return getattr(getattr(obj, "__table__", None), "name", None)


class _Entries:
    """One entry per object and flush: later changes to the same object are merged in."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, int | None], dict[str, Any]] = {}

    def add(
        self, action: str, table: str, object_id: int | None, label: str, changes: dict[str, list[str]]
    ) -> None:
        key = (table, object_id)
        row = self.rows.get(key)
        if row is None:
            self.rows[key] = {
                "action": action,
                "object_type": table,
                "object_id": object_id,
                "object_label": label,
                "changes": dict(changes),
            }
            return
        if row["action"] == "created" or row["action"] == "deleted":
            return  # creating (or deleting) the object covers what happened to its parts
        row["changes"].update(changes)
        if action != "changed":
            row["action"] = action  # published / sent / deleted say more than "changed"
        row["object_label"] = row["object_label"] or label


def _derived(obj: Any) -> bool:
    """An answer that only restates the activity's own fields (its groups, purpose …)."""
    question = getattr(obj, "question", None)
    kind = getattr(getattr(question, "answer_kind", None), "value", None)
    return _table(obj) == "activity_answer" and kind not in (None, "text", "confirm")


def _child(entries: _Entries, obj: Any, table: str, kind: str, unloaded: dict[str, Any]) -> None:
    if _derived(obj):
        return
    parent_table, foreign_key, name_of = CHILDREN[table]
    parent_id = getattr(obj, foreign_key, None)
    parent = getattr(obj, parent_table, None)
    label = _label(parent) if parent is not None else ""
    prefix = name_of(obj)
    if kind == "new":
        summary = _text(getattr(obj, "core_message", None) or getattr(obj, "text", ""))
        changes = {prefix: ["", summary]}
    elif kind == "deleted":
        summary = _text(getattr(obj, "core_message", None) or getattr(obj, "text", ""))
        changes = {prefix: [summary, ""]}
    else:
        changes = {
            f"{prefix}: {key}": pair
            for key, pair in (_changes(obj, unloaded) | _collection_changes(obj)).items()
            if key not in CHILD_IGNORED_COLUMNS and not key.endswith("_id")
        }
    if changes:
        entries.add("changed", parent_table, parent_id, label, changes)


def _after_flush(session: Session, flush_context: Any) -> None:
    unloaded = session.info.pop("audit_old", {})
    entries = _Entries()
    for obj in session.new:
        table = _table(obj)
        if table is None or table in IGNORED_TABLES:
            continue
        if table in CHILDREN:
            _child(entries, obj, table, "new", {})
        elif table == "notice_update":
            # The notice's timeline: publishing is recorded as its status change below;
            # every other update went out by mail.
            if _text(obj.kind) != "published":
                entries.add("sent", "notice", obj.notice_id, _label(obj.notice) if obj.notice else "", {})
        else:
            entries.add("created", table, getattr(obj, "id", None), _label(obj), {})
    for obj in session.dirty:
        table = _table(obj)
        if table is None or table in IGNORED_TABLES or table == "notice_update":
            continue
        if not session.is_modified(obj):
            continue
        if table in CHILDREN:
            _child(entries, obj, table, "dirty", unloaded.get(id(obj), {}))
            continue
        changes = _changes(obj, unloaded.get(id(obj), {})) | _collection_changes(obj)
        if not changes:
            continue
        published = table == "notice" and changes.get("status", ["", ""])[1] == "published"
        entries.add("published" if published else "changed", table, obj.id, _label(obj), changes)
    for obj in session.deleted:
        table = _table(obj)
        if table is None or table in IGNORED_TABLES or table == "notice_update":
            continue
        if table in CHILDREN:
            _child(entries, obj, table, "deleted", {})
            continue
        entries.add("deleted", table, getattr(obj, "id", None), _label(obj), {})
    if not entries.rows:
        return
    actor_id, actor_name = _actor()
    now = utcnow()
    # A request often flushes several times (the activity, then its answers): entries for
    # the same object within one transaction are merged into the row written first.
    written: dict[tuple[str, int | None], dict[str, Any]] = session.info.setdefault("audit_tx", {})
    connection = session.connection()
    for key, row in entries.rows.items():
        earlier = written.get(key)
        if earlier is not None and earlier["action"] == "created" and row["action"] == "changed":
            continue  # still being created: the creation entry covers it
        if earlier is not None and "created" not in (earlier["action"], row["action"]):
            earlier["changes"] = earlier["changes"] | row["changes"]
            if row["action"] != "changed":
                earlier["action"] = row["action"]
            connection.execute(
                update(AuditEntry)
                .where(AuditEntry.id == earlier["id"])
                .values(
                    action=earlier["action"], changes=earlier["changes"], object_label=row["object_label"]
                )
            )
            continue
        values = row | {"at": now, "actor_id": actor_id, "actor_name": actor_name}
        result = connection.execute(insert(AuditEntry).values(values))
        written[key] = {
            "id": result.inserted_primary_key[0],
            "action": row["action"],
            "changes": row["changes"],
        }


def _forget(session: Session, *args: Any) -> None:
    session.info.pop("audit_tx", None)
    session.info.pop("audit_old", None)


def install() -> None:
    """Listen on every ORM session; idempotent, as each app built by the factory calls it."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "after_commit", _forget)
        event.listen(Session, "after_rollback", _forget)
