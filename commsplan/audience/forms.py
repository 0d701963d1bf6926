"""Forms of the audience pages.

The matrix form: one checkbox per recipient row × column × kind, one threshold per row.

The grid's size follows the plan, so it is read from the submitted fields by name rather
than declared as WTForms fields; ``MatrixForm`` carries the CSRF token.
Names: ``r<recipient id>-<column>`` (column ``all``, ``own`` or ``s<service id>``) with
the kinds as values, and ``r<recipient id>-severity``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from werkzeug.datastructures import MultiDict
from wtforms import HiddenField
from wtforms.validators import AnyOf

from commsplan.audience.services import ALL_SERVICES, OWN_SYSTEMS, Column, Matrix, RuleSpec
from commsplan.forms import BaseForm, ConfirmForm
from commsplan.kinds import NoticeKind, Severity


class MatrixForm(ConfirmForm):
    """Only the CSRF token; the boxes are parsed by ``parse_matrix``."""


_NAME = re.compile(r"^r(\d+)-(all|own|s\d+|severity)$")


def cell_name(recipient_id: int, column: Column) -> str:
    if isinstance(column, int):
        return f"r{recipient_id}-s{column}"
    return f"r{recipient_id}-{column}"


def severity_name(recipient_id: int) -> str:
    return f"r{recipient_id}-severity"


@dataclass
class ParsedMatrix:
    specs: list[RuleSpec] = field(default_factory=list)
    thresholds: dict[int, Severity | None] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def parse_matrix(formdata: MultiDict[str, str], matrix: Matrix) -> ParsedMatrix:
    """The rules the submitted boxes describe, or the reasons they cannot be saved."""
    rows = {row.recipient.id: row for row in matrix.rows}
    service_ids = {s.id for s in matrix.services}
    parsed = ParsedMatrix()
    for name in formdata:
        if name == "csrf_token":
            continue
        match = _NAME.match(name)
        if match is None:
            parsed.errors.append(_("Okänt fält i formuläret: %(name)s", name=name[:50]))
            continue
        recipient_id, part = int(match.group(1)), match.group(2)
        row = rows.get(recipient_id)
        if row is None:
            parsed.errors.append(
                _("Mottagaren finns inte längre (nr %(id)s). Ladda om sidan.", id=recipient_id)
            )
            continue
        label = f"{row.recipient.unit.name} ({row.recipient.role})"
        if part == "severity":
            value = formdata.get(name, "")
            try:
                parsed.thresholds[recipient_id] = Severity(value) if value else None
            except ValueError:
                parsed.errors.append(_("%(row)s: okänd allvarlighetsgrad.", row=label))
            continue
        column: Column
        if part.startswith("s"):
            column = int(part[1:])
            if column not in service_ids:
                parsed.errors.append(_("%(row)s: e-tjänsten finns inte längre. Ladda om sidan.", row=label))
                continue
        else:
            column = ALL_SERVICES if part == "all" else OWN_SYSTEMS
            if column == OWN_SYSTEMS and not row.has_systems:
                parsed.errors.append(
                    _("%(row)s äger inget system och kan inte följa ”eget system”.", row=label)
                )
                continue
        for value in dict.fromkeys(formdata.getlist(name)):
            try:
                parsed.specs.append(RuleSpec(recipient_id, column, NoticeKind(value)))
            except ValueError:
                parsed.errors.append(_("%(row)s: okänd typ av meddelande.", row=label))
    return parsed


class ContactImportForm(BaseForm):
    file = FileField(
        _l("CSV-fil med kontakter"),
        validators=[
            FileRequired(_l("Välj en CSV-fil.")),
            FileAllowed(["csv", "txt"], _l("Välj en fil som slutar på .csv.")),
        ],
    )


class ConfirmImportForm(BaseForm):
    # "all": only when every row is valid; "valid": skip the bad rows.
    mode = HiddenField(validators=[AnyOf(["all", "valid"])])
