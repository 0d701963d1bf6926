"""The matrix page "Mottagare × e-tjänst": shows the rules, saves them, refuses bad input."""

from __future__ import annotations

from html.parser import HTMLParser

from sqlalchemy import func, select

from commsplan.audience.models import AudienceRule
from commsplan.auth.models import Role
from commsplan.kinds import NoticeKind, Severity
from commsplan.notices import services as notice_services
from tests import factories
from tests.notices.helpers import make_notice
from tests.test_pages import audit


def _plan(session):  # type: ignore[no-untyped-def]
    journalen = factories.make_service(session, name="Journalen")
    unit = factories.make_unit(session, name="Barnskyddsteamet")
    row = factories.make_recipient(session, unit=unit, role="Medicinsk sekreterare")
    factories.make_contact(session, email="sekr@example.org", unit=unit, role="Medicinsk sekreterare")
    session.commit()
    return journalen, row


def _rules(session) -> set[tuple]:  # type: ignore[no-untyped-def]
    return {
        (r.recipient_id, r.service_id, r.own_systems, r.kind, r.min_severity)
        for r in session.scalars(select(AudienceRule))
    }


def _boxes(html: str) -> dict[str, list[str]]:
    """The checked boxes and selected options of the page, as a browser would submit them."""
    found: dict[str, list[str]] = {}

    class Parser(HTMLParser):
        select: str | None = None

        def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
            a = dict(attrs)
            if tag == "input" and a.get("type") == "checkbox" and "checked" in a:
                found.setdefault(a["name"], []).append(a["value"])
            elif tag == "select":
                self.select = a["name"]
            elif tag == "option" and "selected" in a and self.select:
                found.setdefault(self.select, []).append(a["value"])

    Parser().feed(html)
    return found


def test_matrix_round_trips_and_drives_resolution(client, auth, session):
    journalen, row = _plan(session)
    auth.login(Role.coordinator)
    page = client.get("/plan/audience")
    assert page.status_code == 200
    assert audit(page.get_data(as_text=True)).unlabelled() == []

    response = client.post(
        "/plan/audience",
        data={
            f"r{row.id}-s{journalen.id}": ["release", "general"],
            f"r{row.id}-all": ["outage"],
            f"r{row.id}-severity": "high",
        },
    )
    assert response.status_code == 302
    saved = _rules(session)
    assert saved == {
        (row.id, journalen.id, False, NoticeKind.release, None),
        (row.id, journalen.id, False, NoticeKind.general, None),
        (row.id, None, False, NoticeKind.outage, Severity.high),
    }

    # What the page shows, sent back unchanged, saves the same rules.
    shown = _boxes(client.get("/plan/audience").get_data(as_text=True))
    assert shown[f"r{row.id}-severity"] == ["high"]
    assert client.post("/plan/audience", data=shown).status_code == 302
    assert _rules(session) == saved

    release = make_notice(session, NoticeKind.release, service_ids=[journalen.id])
    medium = make_notice(session, service_ids=[journalen.id], severity=Severity.medium)
    assert [p.email for p in notice_services.recipients(session, release)] == ["sekr@example.org"]
    assert notice_services.recipients(session, medium) == []


def test_matrix_rejects_bad_input_and_stores_nothing(client, auth, session):
    journalen, row = _plan(session)
    factories.follow(session, row, (NoticeKind.release,))
    session.commit()
    auth.login(Role.coordinator)
    before = _rules(session)
    for data in (
        {f"r{row.id}-all": ["outage", "nonsense"]},
        {f"r{row.id + 999}-all": ["outage"]},
        {f"r{row.id}-s{journalen.id + 999}": ["release"]},
        {f"r{row.id}-own": ["release"]},  # the row owns no system
        {f"r{row.id}-severity": "catastrophic"},
        {"evil": "1"},
    ):
        response = client.post("/plan/audience", data=data)
        assert response.status_code == 400, data
        assert "Vem får vad sparades inte" in response.get_data(as_text=True)
        assert _rules(session) == before


def test_viewer_reads_but_cannot_save(client, auth, session):
    _journalen, row = _plan(session)
    auth.login(Role.viewer)
    page = client.get("/plan/audience").get_data(as_text=True)
    assert "disabled" in page and "Spara vem får vad" not in page
    assert client.post("/plan/audience", data={f"r{row.id}-all": ["outage"]}).status_code == 403
    assert session.scalar(select(func.count()).select_from(AudienceRule)) == 0


def test_plan_document_and_markdown_show_who_gets_what(runner, client, auth):
    assert runner.invoke(args=["commsplan", "demo"]).exit_code == 0
    auth.login(Role.viewer)
    page = client.get("/plan").get_data(as_text=True)
    markdown = client.get("/plan.md").get_data(as_text=True)
    for text in (page, markdown):
        assert "Vem får vad" in text
        assert "releaser, allmän information för Journalen" in text  # Barnskyddsteamet
        assert "releaser, driftstörningar (lägst kritisk) för alla e-tjänster" in text  # Kommunikation
        assert "alla slags meddelanden som berör T4" in text
    assert page.index('id="mottagare"') < page.index('id="vem-far-vad"') < page.index('id="ansvar')
