"""Contacts in bulk: CSV import with preview and bad rows by line, CSV export."""

from __future__ import annotations

import csv
import io
import re
import time

from sqlalchemy import func, select

from commsplan.audience import bulk
from commsplan.audience.models import ContactImport
from commsplan.auth.models import Role
from commsplan.kinds import NoticeKind
from commsplan.plan.models import Contact
from commsplan.subscriptions.models import Subscription
from tests import factories


def _plan(session):  # type: ignore[no-untyped-def]
    factories.make_unit(session, name="Nära vård och hälsa")
    factories.make_unit(session, name="ITC")
    factories.make_stakeholder_group(session, name="Media")
    factories.make_stakeholder_group(session, name="Vårdgivare – chefer")
    factories.make_service(session, name="Journalen")
    factories.make_contact(session, name="Befintlig", email="finns@example.org", role="Chef")
    session.commit()


def _excel(text: str) -> bytes:
    """What Swedish Excel saves as "CSV UTF-8": a BOM, ; between cells, CRLF."""
    return ("\ufeff" + text.replace("\n", "\r\n")).encode("utf-8")


GOOD = (
    "namn;e-post;enhet;roll;intressentgrupper;språk;prenumerationer\n"
    "Åsa Öberg;asa@example.org;Nära vård och hälsa;E-hälsostrateg;Media|Vårdgivare – chefer;sv;"
    "Journalen|driftstörning\n"
    ";finns@example.org;ITC;Objektledare;Media;en;\n"
)

BAD = """namn;e-post;enhet;roll;intressentgrupper;språk;prenumerationer
Åsa Öberg;asa@example.org;Nära vård och hälsa;;;;
Fel Adress;inte-en-adress;;;;;
Okänd;okand@example.org;Finns inte;;;;
Dubbel;ASA@example.org;;;;;
;ny@example.org;;;Hemliga gruppen;fi;Tidbok
"""


def _upload(client, data: bytes, name: str = "kontakter.csv"):  # type: ignore[no-untyped-def]
    return client.post(
        "/contacts/import", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data"
    )


def _contacts(session) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(Contact))


def test_valid_file_is_previewed_then_imported(client, auth, session):
    _plan(session)
    auth.login(Role.coordinator)
    response = _upload(client, _excel(GOOD))
    assert response.status_code == 302
    preview_url = response.headers["Location"]
    preview = client.get(preview_url).get_data(as_text=True)
    assert "1 ny kontakt" in preview and "1 ändras" in preview
    assert "roll: Chef → Objektledare" in preview and "+ Media" in preview
    assert _contacts(session) == 1  # nothing written yet

    assert client.post(preview_url, data={"mode": "all"}).status_code == 302
    session.expire_all()
    asa = session.scalar(select(Contact).where(Contact.email == "asa@example.org"))
    assert (asa.name, asa.unit.name, asa.role, asa.language) == (
        "Åsa Öberg",
        "Nära vård och hälsa",
        "E-hälsostrateg",
        "sv",
    )
    assert sorted(g.name for g in asa.groups) == ["Media", "Vårdgivare – chefer"]
    targets = {
        (s.service.name if s.service else None, s.notice_kind)
        for s in session.scalars(select(Subscription).where(Subscription.contact_id == asa.id))
    }
    assert targets == {("Journalen", None), (None, NoticeKind.outage)}
    old = session.scalar(select(Contact).where(Contact.email == "finns@example.org"))
    assert (old.name, old.unit.name, old.role, old.language) == ("Befintlig", "ITC", "Objektledare", "en")
    assert session.scalar(select(func.count()).select_from(ContactImport)) == 0


def test_bad_rows_are_reported_by_line_and_nothing_is_written_unless_chosen(client, auth, session):
    _plan(session)
    auth.login(Role.coordinator)
    preview_url = _upload(client, _excel(BAD)).headers["Location"]
    page = client.get(preview_url).get_data(as_text=True)
    errors = dict(re.findall(r'<tr><th scope="row">(\d+)</th><td>([^<]*)</td></tr>', page))
    assert errors["3"].startswith("Ogiltig e-postadress")
    assert errors["4"] == "Okänd enhet: Finns inte"
    assert errors["5"] == "Adressen finns redan på rad 2."
    assert "Namn saknas" in errors["6"] and "Hemliga gruppen" in errors["6"]
    assert "fi" in errors["6"] and "Tidbok" in errors["6"]
    assert "Importera bara den giltiga raden" in page

    # The whole file is not valid: importing it all is refused, nothing is written.
    refused = client.post(preview_url, data={"mode": "all"})
    assert refused.status_code == 400
    assert _contacts(session) == 1
    # The coordinator chooses to import the valid rows.
    assert client.post(preview_url, data={"mode": "valid"}).status_code == 302
    assert _contacts(session) == 2
    assert client.get(preview_url).status_code == 404


def test_unreadable_files_are_refused_with_a_message(client, auth, session):
    _plan(session)
    auth.login(Role.coordinator)
    for data, message in (
        (b"", "Filen är tom."),
        (_excel("namn;telefon\nA;1\n"), "Okänd kolumn: telefon"),
        (_excel("namn;enhet\nA;ITC\n"), "Kolumnen e-post saknas."),
        (_excel('namn;e-post\n"A;a@example.org\n'), "kunde inte läsas som CSV"),
    ):
        response = _upload(client, data)
        assert response.status_code == 400, message
        assert message in response.get_data(as_text=True)
    assert _upload(client, b"namn", name="kontakter.xlsx").status_code == 400
    assert session.scalar(select(func.count()).select_from(ContactImport)) == 0


def test_viewer_cannot_import(client, auth, session):
    auth.login(Role.viewer)
    assert client.get("/contacts/import").status_code == 403
    assert _upload(client, _excel(GOOD)).status_code == 403


def test_windows_1252_and_commas_are_read(session):
    _plan(session)
    data = "namn,e-post,enhet\r\nÅke Ärlig,ake@example.org,ITC\r\n".encode("cp1252")
    plan = bulk.plan_import(session, data)
    assert plan.valid and plan.rows[0].name == "Åke Ärlig"


def test_export_neutralises_formulas_and_imports_back_unchanged(client, auth, session):
    _plan(session)
    contact = factories.make_contact(
        session, name='=HYPERLINK("http://x")', email="f@example.org", role="-1+2"
    )
    # Already looking neutralised: the export must escape it again to read back the same.
    marked = factories.make_contact(session, name="'=1", email="'@example.org", role="''-2")
    session.commit()
    auth.login(Role.viewer)
    response = client.get("/contacts/export.csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["namn", "e-post", "enhet", "roll", "intressentgrupper", "språk", "prenumerationer"]
    exported = {r[1]: r for r in rows[1:]}
    assert exported["f@example.org"][0] == '\'=HYPERLINK("http://x")'
    assert exported["f@example.org"][3] == "'-1+2"
    assert [exported["''@example.org"][i] for i in (0, 3)] == ["''=1", "'''-2"]

    plan = bulk.plan_import(session, body)
    assert plan.valid and set(plan.counts) == {"unchanged"}
    assert contact.name == '=HYPERLINK("http://x")'
    assert (marked.name, marked.email, marked.role) == ("'=1", "'@example.org", "''-2")

    subscriptions = client.get("/subscriptions/export.csv").get_data().decode("utf-8-sig")
    assert subscriptions.splitlines()[0] == "namn;e-post;e-tjänst;meddelandetyp;sedan"


def test_ten_thousand_rows_import_in_seconds(session):
    _plan(session)
    lines = ["namn;e-post;enhet;roll;intressentgrupper;språk;prenumerationer"]
    lines += [f"Person {i};p{i}@example.org;ITC;Handläggare;Media;sv;Journalen" for i in range(10_000)]
    data = _excel("\n".join(lines) + "\n")
    started = time.perf_counter()
    plan = bulk.plan_import(session, data)
    assert plan.valid and plan.counts["create"] == 10_000
    bulk.apply_import(session, plan)
    session.commit()
    elapsed = time.perf_counter() - started
    assert _contacts(session) == 10_001
    assert session.scalar(select(func.count()).select_from(Subscription)) == 10_000
    # Seconds, not minutes, on the shared 2-core machine (about 2 s when it is quiet).
    assert elapsed < 20, elapsed


def test_control_characters_in_a_cell_or_the_file_name_are_refused_by_line(client, auth, session):
    _plan(session)
    auth.login(Role.coordinator)
    data = _excel("namn;e-post\nNul\x00Namn;nul@example.org\nVanlig;vanlig@example.org\n")
    response = _upload(client, data, name="kontakter\x00.csv")
    assert response.status_code == 302
    preview_url = response.headers["Location"]
    page = client.get(preview_url).get_data(as_text=True)
    errors = dict(re.findall(r'<tr><th scope="row">(\d+)</th><td>([^<]*)</td></tr>', page))
    assert "otillåtna tecken" in errors["2"]
    assert client.post(preview_url, data={"mode": "all"}).status_code == 400
    assert _contacts(session) == 1
    assert client.post(preview_url, data={"mode": "valid"}).status_code == 302
    assert session.scalars(select(Contact.email).order_by(Contact.email)).all() == [
        "finns@example.org",
        "vanlig@example.org",
    ]
