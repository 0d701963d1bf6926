"""Contacts in bulk: CSV import with a preview, and CSV export of contacts and
subscriptions.

Columns (Swedish or English headers, any order): namn, e-post, enhet, roll,
intressentgrupper, språk, prenumerationer. Lists inside a cell are separated by ``|``.
A contact is matched by its address. An empty cell leaves an existing contact's value
as it is; groups and subscriptions in the file are added, never removed.

Everything the file refers to (units, groups, e-services, existing contacts, their groups
and subscriptions) is read once up front and rows are written with one statement per
table, so ten thousand rows take seconds, not one round trip each.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from commsplan.audience.models import ContactImport
from commsplan.csvfile import CsvError, read_csv, write_csv
from commsplan.delivery.services import valid_address
from commsplan.inputs import text_problem
from commsplan.kinds import NoticeKind
from commsplan.kinds.labels import KIND_LABELS
from commsplan.plan.models import Contact, Service, StakeholderGroup, Unit, contact_stakeholder_group
from commsplan.subscriptions.models import Subscription
from commsplan.timeutil import utcnow

LIST_SEPARATOR = "|"
LANGUAGES = {"sv": "sv", "svenska": "sv", "swedish": "sv", "en": "en", "engelska": "en", "english": "en"}
# field -> accepted headers (lower case); the first is what the export writes.
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("namn", "name"),
    "email": ("e-post", "e-postadress", "email", "e-mail"),
    "unit": ("enhet", "unit"),
    "role": ("roll", "role"),
    "groups": ("intressentgrupper", "grupper", "groups"),
    "language": ("språk", "language"),
    "subscriptions": ("prenumerationer", "subscriptions"),
}
HEADER_FIELDS = {header: name for name, headers in COLUMNS.items() for header in headers}
MAX_BYTES = 10 * 1024 * 1024
IMPORT_LIFETIME = timedelta(days=1)

Target = tuple[int | None, NoticeKind | None]  # (service id, kind) of a subscription


@dataclass
class PlannedRow:
    line: int
    email: str
    name: str
    contact_id: int | None  # None: a new contact
    values: dict[str, object]  # columns of Contact to set
    group_ids: list[int]  # groups to add
    subscriptions: list[Target]  # subscriptions to add
    changes: list[str] = field(default_factory=list)

    @property
    def action(self) -> str:
        if self.contact_id is None:
            return "create"
        return "update" if self.changes else "unchanged"


@dataclass(frozen=True)
class RowError:
    line: int
    messages: list[str]


@dataclass
class ImportPlan:
    rows: list[PlannedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)

    @property
    def counts(self) -> Counter[str]:
        return Counter(row.action for row in self.rows)

    @property
    def valid(self) -> bool:
        return not self.errors and not self.file_errors


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.replace("\n", LIST_SEPARATOR).split(LIST_SEPARATOR) if part.strip()]


class _Lookups:
    """Everything rows refer to, read once."""

    def __init__(self, session: Session) -> None:
        self.units = {u.name.lower(): u for u in session.scalars(select(Unit))}
        self.unit_names = {u.id: u.name for u in self.units.values()}
        self.groups = {
            g.name.lower(): g
            for g in session.scalars(select(StakeholderGroup).where(StakeholderGroup.in_use()))
        }
        self.group_names = {g.id: g.name for g in self.groups.values()}
        self.services = {s.name.lower(): s for s in session.scalars(select(Service).where(Service.in_use()))}
        self.service_names = {s.id: s.name for s in self.services.values()}
        self.kinds: dict[str, NoticeKind] = {}
        for kind in NoticeKind:
            self.kinds[kind.value] = kind
            self.kinds[str(KIND_LABELS[kind]).lower()] = kind
        self.contacts = {
            row.email.lower(): row
            for row in session.execute(
                select(
                    Contact.id, Contact.email, Contact.name, Contact.unit_id, Contact.role, Contact.language
                )
            )
        }
        self.memberships: set[tuple[int, int]] = set(
            session.execute(
                select(contact_stakeholder_group.c.contact_id, contact_stakeholder_group.c.group_id)
            )
            .tuples()
            .all()
        )
        self.subscriptions: set[tuple[int, int | None, NoticeKind | None]] = set(
            session.execute(
                select(Subscription.contact_id, Subscription.service_id, Subscription.notice_kind)
            )
            .tuples()
            .all()
        )

    def target_label(self, target: Target) -> str:
        service_id, kind = target
        if service_id is not None:
            return self.service_names[service_id]
        return str(KIND_LABELS[kind]) if kind else ""


def plan_import(session: Session, data: bytes) -> ImportPlan:
    """What importing ``data`` would create and change, and every bad row with its line."""
    plan = ImportPlan()
    if len(data) > MAX_BYTES:
        plan.file_errors.append(_("Filen är större än 10 MB."))
        return plan
    try:
        header, rows = read_csv(data)
    except CsvError as exc:
        plan.file_errors.append(str(exc))
        return plan
    fields: list[str | None] = []
    for column in header:
        name = HEADER_FIELDS.get(column)
        if name is None and column:
            plan.file_errors.append(_("Okänd kolumn: %(column)s", column=column[:50]))
        if name is not None and name in fields:
            plan.file_errors.append(_("Kolumnen %(column)s finns två gånger.", column=column[:50]))
        fields.append(name)
    if "email" not in fields:
        plan.file_errors.append(_("Kolumnen e-post saknas."))
    if not rows and not plan.file_errors:
        plan.file_errors.append(_("Filen har inga rader med kontakter."))
    if plan.file_errors:
        return plan

    lookups = _Lookups(session)
    seen: dict[str, int] = {}
    for row in rows:
        if len(row.cells) > len(fields):
            plan.errors.append(RowError(row.line, [_("Raden har fler celler än rubrikraden.")]))
            continue
        cells = {name: value for name, value in zip(fields, row.cells, strict=False) if name}
        planned, messages = _plan_row(row.line, cells, lookups, seen)
        if messages:
            plan.errors.append(RowError(row.line, messages))
        elif planned is not None:
            plan.rows.append(planned)
    return plan


def _plan_row(
    line: int, cells: dict[str, str], lookups: _Lookups, seen: dict[str, int]
) -> tuple[PlannedRow | None, list[str]]:
    # NUL and other control characters: PostgreSQL refuses NUL in text, and none belongs
    # in a name or an address (line breaks inside a quoted cell do, and pass).
    messages: list[str] = list(dict.fromkeys(p for p in map(text_problem, cells.values()) if p))
    if messages:
        return None, messages
    email = cells.get("email", "")
    key = email.lower()
    if not email:
        messages.append(_("E-postadress saknas."))
    elif not valid_address(email):
        messages.append(_("Ogiltig e-postadress: %(email)s", email=email[:100]))
    elif key in seen:
        messages.append(_("Adressen finns redan på rad %(line)s.", line=seen[key]))
    else:
        seen[key] = line
    existing = lookups.contacts.get(key)

    values: dict[str, object] = {}
    name = cells.get("name", "")
    if len(name) > 200:
        messages.append(_("Namnet är längre än 200 tecken."))
    elif name:
        values["name"] = name
    elif existing is None:
        messages.append(_("Namn saknas för en ny kontakt."))
    unit_name = cells.get("unit", "")
    if unit_name:
        unit = lookups.units.get(unit_name.lower())
        if unit is None:
            messages.append(_("Okänd enhet: %(unit)s", unit=unit_name[:100]))
        else:
            values["unit_id"] = unit.id
    role = cells.get("role", "")
    if len(role) > 200:
        messages.append(_("Rollen är längre än 200 tecken."))
    elif role:
        values["role"] = role
    language = cells.get("language", "")
    if language:
        code = LANGUAGES.get(language.lower())
        if code is None:
            messages.append(_("Okänt språk: %(language)s (ange sv eller en)", language=language[:20]))
        else:
            values["language"] = code

    group_ids: list[int] = []
    for group_name in _split(cells.get("groups", "")):
        group = lookups.groups.get(group_name.lower())
        if group is None:
            messages.append(_("Okänd intressentgrupp: %(group)s", group=group_name[:100]))
        elif group.id not in group_ids:
            group_ids.append(group.id)
    targets: list[Target] = []
    for item in _split(cells.get("subscriptions", "")):
        service = lookups.services.get(item.lower())
        kind = lookups.kinds.get(item.lower())
        if service is not None:
            target: Target = (service.id, None)
        elif kind is not None:
            target = (None, kind)
        else:
            messages.append(
                _("Okänd e-tjänst eller meddelandetyp att prenumerera på: %(item)s", item=item[:100])
            )
            continue
        if target not in targets:
            targets.append(target)
    if messages:
        return None, messages

    planned = PlannedRow(line, email, name, existing.id if existing else None, values, group_ids, targets)
    if existing is None:
        planned.values.setdefault("role", "")
        planned.values.setdefault("language", "sv")
        planned.changes = [_("ny kontakt")]
        return planned, []
    for column, label in (("name", _("namn")), ("role", _("roll")), ("language", _("språk"))):
        if column in values and values[column] != getattr(existing, column):
            planned.changes.append(f"{label}: {getattr(existing, column) or '–'} → {values[column]}")
    if "unit_id" in values and values["unit_id"] != existing.unit_id:
        before = lookups.unit_names.get(existing.unit_id, "–") if existing.unit_id else "–"
        planned.changes.append(f"{_('enhet')}: {before} → {lookups.unit_names[values['unit_id']]}")  # type: ignore[index]
    planned.group_ids = [g for g in group_ids if (existing.id, g) not in lookups.memberships]
    planned.changes += [f"+ {lookups.group_names[g]}" for g in planned.group_ids]
    planned.subscriptions = [t for t in targets if (existing.id, *t) not in lookups.subscriptions]
    planned.changes += [
        "+ " + _("prenumeration: %(target)s", target=lookups.target_label(t)) for t in planned.subscriptions
    ]
    return planned, []


def apply_import(session: Session, plan: ImportPlan) -> Counter[str]:
    """Write the planned rows (the caller decides whether bad rows may be skipped)."""
    new = [row for row in plan.rows if row.action == "create"]
    if new:
        created = session.execute(
            insert(Contact).returning(Contact.id, Contact.email, sort_by_parameter_order=True),
            [{"email": row.email, "name": row.name, **row.values} for row in new],
        ).all()
        for row, (contact_id, _email) in zip(new, created, strict=True):
            row.contact_id = contact_id
    changed = [row for row in plan.rows if row.action == "update" and row.values]
    if changed:
        session.execute(update(Contact), [{"id": row.contact_id, **row.values} for row in changed])
    links = [{"contact_id": row.contact_id, "group_id": g} for row in plan.rows for g in row.group_ids]
    # RETURNING makes both databases take the rows as multi-row INSERTs ("insertmanyvalues"),
    # several times faster on PostgreSQL than one statement per row.
    if links:
        session.execute(
            insert(contact_stakeholder_group).returning(contact_stakeholder_group.c.contact_id), links
        )
    subscriptions = [
        {"contact_id": row.contact_id, "service_id": service_id, "notice_kind": kind, "created_at": utcnow()}
        for row in plan.rows
        for service_id, kind in row.subscriptions
    ]
    if subscriptions:
        session.execute(insert(Subscription), subscriptions)
    session.flush()
    session.expire_all()
    return plan.counts


# --- the uploaded file between preview and import -------------------------------------------


def store_upload(session: Session, user_id: int | None, filename: str, data: bytes) -> ContactImport:
    # Old previews nobody confirmed go when a new one comes.
    session.execute(delete(ContactImport).where(ContactImport.created_at < utcnow() - IMPORT_LIFETIME))
    # Only a label on the preview; a browser may send any bytes as the name.
    label = "".join(c for c in filename if not text_problem(c))[:255]
    upload = ContactImport(user_id=user_id, filename=label, content=data)
    session.add(upload)
    session.flush()
    return upload


def stored_upload(session: Session, uid: str, user_id: int | None) -> ContactImport | None:
    upload = session.scalar(select(ContactImport).where(ContactImport.uid == uid))
    if upload is None or upload.user_id != user_id or upload.created_at < utcnow() - IMPORT_LIFETIME:
        return None
    return upload


# --- export ----------------------------------------------------------------------------------

EXPORT_HEADER = [headers[0] for headers in COLUMNS.values()]


def export_contacts(session: Session) -> str:
    """Every contact as the import reads it, so an export can be edited and imported back."""
    lookups = _Lookups(session)
    groups_of: dict[int, list[str]] = {}
    for contact_id, group_id in sorted(lookups.memberships):
        groups_of.setdefault(contact_id, []).append(lookups.group_names[group_id])
    subscriptions_of: dict[int, list[str]] = {}
    for contact_id, service_id, kind in sorted(
        lookups.subscriptions, key=lambda s: (s[0], s[1] or 0, s[2].value if s[2] else "")
    ):
        subscriptions_of.setdefault(contact_id, []).append(lookups.target_label((service_id, kind)))
    rows = (
        [
            c.name,
            c.email,
            lookups.unit_names.get(c.unit_id, "") if c.unit_id else "",
            c.role,
            LIST_SEPARATOR.join(groups_of.get(c.id, [])),
            c.language,
            LIST_SEPARATOR.join(subscriptions_of.get(c.id, [])),
        ]
        for c in sorted(lookups.contacts.values(), key=lambda c: (c.name.lower(), c.email.lower()))
    )
    return write_csv(EXPORT_HEADER, rows)


def export_subscriptions(session: Session) -> str:
    """One row per subscription: who, to what, since when."""
    rows = session.execute(
        select(Contact.name, Contact.email, Service.name, Subscription.notice_kind, Subscription.created_at)
        .join(Contact, Contact.id == Subscription.contact_id)
        .outerjoin(Service, Service.id == Subscription.service_id)
        .order_by(Contact.name, Contact.email, Subscription.id)
    )
    return write_csv(
        [_("namn"), _("e-post"), _("e-tjänst"), _("meddelandetyp"), _("sedan")],
        (
            [name, email, service or "", str(KIND_LABELS[kind]) if kind else "", created.date().isoformat()]
            for name, email, service, kind, created in rows
        ),
    )
