"""Property-based tests on the contacts CSV import (issue 10, point 9): whatever file is
uploaded (any Unicode, NUL, line breaks inside quoted cells, a BOM or none, ``;`` or
``,``, huge cells, duplicate rows), the answer is never a server error. A file is either
imported exactly, so that the export of what was stored reads back with no change, or
refused with a message and nothing stored."""

from __future__ import annotations

import csv
import io
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from commsplan.audience import bulk
from commsplan.audience.models import ContactImport
from commsplan.auth.models import Role
from commsplan.csvfile import neutralise, unneutralise
from commsplan.delivery.services import valid_address
from commsplan.inputs import text_problem
from commsplan.plan.models import Contact, contact_stakeholder_group
from commsplan.subscriptions.models import Subscription
from tests import factories

SETTINGS = settings(
    max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
HEADERS = [*bulk.HEADER_FIELDS, "telefon", "", "E-POST", " namn "]
# Cells as people and scripts write them: any Unicode (NUL and line breaks too), quotes,
# both separators, formulas, cells past the CSV reader's limit (131,072 characters).
CELL = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["a\x00b", "rad ett\r\nrad två", '"citat"', "a;b,c", "=1+2", "'=1", "\ufeff", "sv", "en"]
    ),
    st.just("x" * 250),
    st.just("y" * 140_000),
)
EMAIL = st.one_of(st.emails().map(str), st.sampled_from(["dubbel@example.org", "DUBBEL@example.org"]), CELL)


def _reset(session: Any) -> None:
    session.rollback()
    for table in (contact_stakeholder_group, Subscription.__table__, ContactImport.__table__):
        session.execute(delete(table))
    session.execute(delete(Contact).where(Contact.email != "finns@example.org"))
    session.commit()


def _count(session: Any, model: Any) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def _encode(rows: list[list[str]], delimiter: str, bom: bool, newline: str, encoding: str) -> bytes:
    buffer = io.StringIO()
    # Python's writer quotes only the characters of its own line end; Excel quotes both.
    broken = any("\r" in cell or "\n" in cell for row in rows for cell in row)
    quoting = csv.QUOTE_ALL if broken else csv.QUOTE_MINIMAL
    csv.writer(buffer, delimiter=delimiter, lineterminator=newline, quoting=quoting).writerows(rows)
    text = buffer.getvalue()
    # A byte order mark only in UTF-8, as Excel writes it.
    return (("\ufeff" if bom and encoding == "utf-8" else "") + text).encode(encoding, errors="replace")


def _upload(client: Any, data: bytes, filename: str = "kontakter.csv") -> Any:
    return client.post(
        "/contacts/import", data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data"
    )


def _exported(client: Any) -> dict[str, list[str]]:
    body = client.get("/contacts/export.csv").get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body, newline=""), delimiter=";"))
    return {unneutralise(row[1]): row for row in rows[1:]}


def _setup(session: Any) -> None:
    factories.make_unit(session, name="ITC")
    factories.make_stakeholder_group(session, name="Media")
    factories.make_service(session, name="Journalen")
    factories.make_contact(session, name="Befintlig", email="finns@example.org")
    session.commit()


DIALECT = {
    "delimiter": st.sampled_from([";", ","]),
    "bom": st.booleans(),
    "newline": st.sampled_from(["\r\n", "\n", "\r"]),
    "encoding": st.sampled_from(["utf-8", "utf-8", "cp1252"]),
}


def test_any_file_is_imported_or_refused_never_a_500(client, auth, session):
    _setup(session)
    auth.login(Role.coordinator)

    @SETTINGS
    @given(
        header=st.lists(st.sampled_from(HEADERS), min_size=1, max_size=8),
        rows=st.lists(st.lists(st.one_of(CELL, EMAIL), max_size=9), max_size=5),
        repeat=st.booleans(),
        filename=st.one_of(st.just("kontakter.csv"), st.text(max_size=20).map(lambda t: t + ".csv")),
        **DIALECT,
    )
    def upload(header, rows, repeat, filename, delimiter, bom, newline, encoding):  # type: ignore[no-untyped-def]
        _reset(session)
        rows = rows + rows[:1] if repeat else rows
        data = _encode([header, *rows], delimiter, bom, newline, encoding)
        contacts = _count(session, Contact)
        response = _upload(client, data, filename)
        assert response.status_code in (302, 400), response.status_code
        if response.status_code == 400:
            assert 'role="alert"' in response.get_data(as_text=True)
            assert _count(session, ContactImport) == 0
            assert _count(session, Contact) == contacts
            return
        preview_url = response.headers["Location"]
        assert client.get(preview_url).status_code == 200
        imported = client.post(preview_url, data={"mode": "all"})
        assert imported.status_code in (302, 400), imported.status_code
        if imported.status_code == 400:
            assert _count(session, Contact) == contacts
            return
        # Imported: every contact the export lists reads back as it is, changing nothing.
        export = client.get("/contacts/export.csv").get_data()
        plan = bulk.plan_import(session, export)
        assert plan.valid and set(plan.counts) <= {"unchanged"}, (plan.errors, plan.file_errors)
        session.rollback()

    upload()


def _plain(text: str) -> bool:
    """Text a file states exactly: not only white space (cells are trimmed), no control
    character, and no leading apostrophe before = + - @, which is the spreadsheet's text
    marker the import drops (tests/audience/test_bulk.py covers that)."""
    return bool(text.strip()) and not text_problem(text) and unneutralise(text.strip()) == text.strip()


NAME = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60).filter(_plain)
ADDRESS = st.emails().map(str).filter(lambda a: valid_address(a) and _plain(a))


def test_a_valid_file_is_imported_exactly(client, auth, session):
    _setup(session)
    auth.login(Role.coordinator)

    @SETTINGS
    @given(
        people=st.lists(
            st.tuples(NAME, ADDRESS, st.one_of(st.just(""), NAME), st.sampled_from(["sv", "en"])),
            min_size=1,
            max_size=6,
            unique_by=lambda p: p[1].lower(),
        ),
        **DIALECT,
    )
    def upload(people, delimiter, bom, newline, encoding):  # type: ignore[no-untyped-def]
        _reset(session)
        assume(all(p[1].lower() != "finns@example.org" for p in people))
        if encoding == "cp1252":
            # Text Windows-1252 cannot hold is not what Excel writes in that encoding.
            assume(
                all(
                    all(text.encode("cp1252", errors="ignore").decode("cp1252") == text for text in p)
                    for p in people
                )
            )
        header = ["namn", "e-post", "roll", "språk", "enhet", "intressentgrupper", "prenumerationer"]
        rows = [
            [name, email, role, language, "ITC", "Media", "Journalen"]
            for name, email, role, language in people
        ]
        data = _encode([header, *rows], delimiter, bom, newline, encoding)
        response = _upload(client, data)
        assert response.status_code == 302, response.get_data(as_text=True)
        assert client.post(response.headers["Location"], data={"mode": "all"}).status_code == 302

        session.expire_all()
        stored = {
            c.email: [c.name, c.email, c.unit.name, c.role, "|".join(g.name for g in c.groups), c.language]
            for c in session.scalars(select(Contact).where(Contact.email != "finns@example.org"))
        }
        assert stored == {
            email: [name.strip(), email, "ITC", role.strip(), "Media", language]
            for name, email, role, language in people
        }
        exported = _exported(client)
        for email, row in stored.items():
            # The export neutralises what a spreadsheet would run as a formula.
            assert exported[email] == [neutralise(cell) for cell in [*row, "Journalen"]]
        # ... and reads back as it is.
        plan = bulk.plan_import(session, client.get("/contacts/export.csv").get_data())
        assert plan.valid and set(plan.counts) == {"unchanged"}, (plan.errors, plan.file_errors)
        session.rollback()

    upload()
