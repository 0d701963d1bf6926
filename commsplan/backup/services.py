"""Export and import of the whole plan as a versioned JSON document.

"The whole plan" is what coordinators build and maintain, and what people chose:

- the plan itself: plan, goals, guidelines, checklist questions, stakeholder groups and
  their information needs, units, channels, contacts (with their groups), systems,
  e-services, responsibilities, dependencies, collaborations, recipients and audience rules;
- activity checklist templates and settings, the public pages;
- meeting series (with their groups, units and contacts), occurrences, agendas and sign-ups;
- the contacts' own choices: subscriptions, opt-outs, profiles and the unsubscribe list
  (so a restored plan never mails someone who said no).

Left out, and kept by a database backup (``pg_dump``) if needed: user accounts and API
tokens, notices and activities (the communication sent, with their history), the outbox,
digest and delivery records, calendar feed tokens and cache, pending sign-ups and role
requests, contact imports, the history log and the scheduled-job table.

The document keeps every row's own id; foreign keys are those ids. Keys are sorted and
rows ordered by primary key, so exporting an imported document gives the same bytes.
"""

from __future__ import annotations

import base64
import enum
import json
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    Enum,
    LargeBinary,
    Table,
    Time,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from commsplan.extensions import db

FORMAT = "commsplan-plan"
FORMAT_VERSION = 1

PLAN_TABLES = (
    "plan",
    "goal",
    "guideline",
    "stakeholder_group",
    "information_need",
    "unit",
    "channel",
    "contact",
    "contact_stakeholder_group",
    "system",
    "service",
    "responsibility",
    "dependency",
    "collaboration",
    "recipient",
    "audience_rule",
    "checklist_template",
    "template_question",
    "activity_setting",
    "public_page",
    "meeting_series",
    "meeting_series_group",
    "meeting_series_unit",
    "meeting_series_contact",
    "occurrence",
    "agenda_item",
    "registration",
    "subscription",
    "subscription_opt_out",
    "subscriber_profile",
    "unsubscribe",
    "relay_mapping_rule",
)
# Filled in by the migrations (the shipped checklist templates …): a database that holds
# only these still counts as empty, and an import replaces them.
SEEDED_TABLES = frozenset({"checklist_template", "template_question", "activity_setting", "public_page"})
# Kept by ``--replace``: who may log in, and the history of what they did.
KEPT_ON_REPLACE = frozenset({"user_account", "api_token", "audit_entry", "alembic_version"})


class BackupError(ValueError):
    """A document or database that cannot be imported; the message is for the operator."""


def _tables() -> list[Table]:
    return [table for table in db.metadata.sorted_tables if table.name in PLAN_TABLES]


def _dump_value(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def _load_value(column: Column[Any], value: Any) -> Any:
    if value is None or isinstance(column.type, JSON):
        return value
    kind = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
    if isinstance(kind, Enum) and kind.enum_class is not None:
        return kind.enum_class[value]
    if isinstance(kind, DateTime):
        return datetime.fromisoformat(value)
    if isinstance(kind, Date):
        return date.fromisoformat(value)
    if isinstance(kind, Time):
        return time.fromisoformat(value)
    if isinstance(kind, LargeBinary):
        return base64.b64decode(value)
    return value


def export_plan(session: Session, schema_revision: str | None = None) -> dict[str, Any]:
    """The document for everything in ``PLAN_TABLES``, rows in primary-key order."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for table in _tables():
        rows = session.execute(select(table).order_by(*table.primary_key.columns)).mappings()
        tables[table.name] = [{key: _dump_value(value) for key, value in row.items()} for row in rows]
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "schema_revision": schema_revision,
        "tables": tables,
    }


def dumps(document: dict[str, Any]) -> str:
    """Stable text: sorted keys at every level, one row per line group, UTF-8 as is."""
    return json.dumps(document, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def loads(text_: str) -> dict[str, Any]:
    try:
        document = json.loads(text_)
    except json.JSONDecodeError as error:
        raise BackupError(f"Filen är inte JSON: {error}") from error
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise BackupError("Filen är ingen export av en kommunikationsplan från commsplan.")
    version = document.get("format_version")
    if version != FORMAT_VERSION:
        raise BackupError(
            f"Okänd formatversion {version!r}: den här versionen av commsplan läser version {FORMAT_VERSION}."
        )
    if not isinstance(document.get("tables"), dict):
        raise BackupError("Filen saknar tabeller.")
    return document


def _count(session: Session, table: Table) -> int:
    return session.scalar(select(func.count()).select_from(table)) or 0


def holds_a_plan(session: Session) -> list[str]:
    """The plan tables that already hold rows (the migrations' own rows not counted)."""
    return [t.name for t in _tables() if t.name not in SEEDED_TABLES and _count(session, t)]


def _check_columns(document: dict[str, Any]) -> None:
    known = {table.name: table for table in _tables()}
    for name, rows in document["tables"].items():
        if name not in known:
            raise BackupError(f"Tabellen {name!r} finns inte i den här versionen av commsplan.")
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise BackupError(f"Tabellen {name!r} har fel form.")
        columns = set(known[name].columns.keys())
        for row in rows:
            unknown = set(row) - columns
            if unknown:
                raise BackupError(f"Tabellen {name!r} har okända kolumner: {', '.join(sorted(unknown))}.")


def _clear(session: Session, replace: bool) -> None:
    """Empty the plan tables; with ``replace`` also everything that refers to them."""
    names = set(PLAN_TABLES)
    if replace:
        names = {t.name for t in db.metadata.sorted_tables} - KEPT_ON_REPLACE
    for table in reversed(db.metadata.sorted_tables):
        if table.name in names:
            session.execute(delete(table))


def _reset_sequences(session: Session) -> None:
    """PostgreSQL hands out ids from a sequence: move each past the imported ids."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in _tables():
        key = list(table.primary_key.columns)
        if len(key) != 1 or not key[0].autoincrement or key[0].type.python_type is not int:
            continue
        highest = select(func.max(key[0])).scalar_subquery()
        sequence = func.pg_get_serial_sequence(table.name, key[0].name)
        session.execute(select(func.setval(sequence, func.coalesce(highest, 0) + 1, False)))


def import_plan(session: Session, document: dict[str, Any], *, replace: bool = False) -> dict[str, int]:
    """Load ``document`` into this database in one transaction; returns rows per table.

    Refuses a database that already holds a plan unless ``replace``: then the plan and
    everything that refers to it (notices, activities, outbox …) is deleted first;
    accounts, API tokens and the history log stay."""
    _check_columns(document)
    occupied = holds_a_plan(session)
    if occupied and not replace:
        raise BackupError(
            f"Databasen innehåller redan en plan ({', '.join(occupied[:5])} …). "
            "Använd --replace för att ersätta den."
        )
    counts: dict[str, int] = {}
    try:
        _clear(session, replace)
        for table in _tables():
            rows = document["tables"].get(table.name, [])
            values = [{key: _load_value(table.columns[key], v) for key, v in row.items()} for row in rows]
            if values:
                session.execute(insert(table), values)
            counts[table.name] = len(values)
        _reset_sequences(session)
        session.commit()
    except (SQLAlchemyError, ValueError, KeyError, TypeError) as error:
        session.rollback()
        problem = f"{type(error).__name__}: {error}"[:1000]
        raise BackupError(f"Filen kunde inte läsas in, inget ändrades: {problem}") from error
    return counts
