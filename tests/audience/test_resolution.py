"""The demo's audience rules: every notice reaches the rows of the plan it concerns."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import select

from commsplan.audience import services as audience
from commsplan.kinds import NoticeKind, Severity
from commsplan.notices import services
from commsplan.plan.models import Service, System, Unit
from tests import factories
from tests.notices.helpers import make_notice

PACKAGE = Path(__file__).resolve().parents[2] / "commsplan"


@pytest.fixture
def demo(runner, session):  # type: ignore[no-untyped-def]
    assert runner.invoke(args=["commsplan", "demo"]).exit_code == 0
    unit = session.scalar(select(Unit).where(Unit.name == "Barnskyddsteamet"))
    factories.make_contact(
        session, name="Sekreterare", email="barnskydd@example.org", unit=unit, role="Medicinsk sekreterare"
    )
    session.commit()


def _named(session, model, name):  # type: ignore[no-untyped-def]
    return session.scalar(select(model).where(model.name == name))


def _deliver(runner, outbox) -> set[str]:  # type: ignore[no-untyped-def]
    assert runner.invoke(args=["commsplan", "deliver"]).exit_code == 0
    return {a for e in outbox.envelopes for a in e.rcpt_tos}


def test_demo_journalen_t4_outage_reaches_only_those_it_concerns(demo, session, runner, outbox):
    journalen = _named(session, Service, "Journalen")
    t4 = _named(session, System, "T4")
    notice = make_notice(session, service_ids=[journalen.id], system_ids=[t4.id], severity=Severity.high)
    people = {p.email: p for p in services.recipients(session, notice)}

    assert "barnskydd@example.org" not in people
    assert "fredrik.provberg@example.org" not in people  # Prosang's object leader
    assert "gunilla.demoqvist@example.org" not in people  # Kommunikation: only critical outages
    assert (
        "Mottagare av information: Nära vård och hälsa – följer driftstörningar för alla e-tjänster"
        in people["alva.exempelsson@example.org"].reasons
    )
    assert (
        "Mottagare av information: T4 – följer driftstörningar som berör T4"
        in people["hamid.testsson@example.org"].reasons
    )

    services.publish(session, notice, None)
    session.commit()
    delivered = _deliver(runner, outbox)
    assert "barnskydd@example.org" not in delivered
    assert "fredrik.provberg@example.org" not in delivered
    assert {"alva.exempelsson@example.org", "hamid.testsson@example.org"} <= delivered


def test_demo_journalen_release_reaches_barnskyddsteamet(demo, session, runner, outbox):
    journalen = _named(session, Service, "Journalen")
    notice = make_notice(session, NoticeKind.release, service_ids=[journalen.id])
    people = {p.email: p for p in services.recipients(session, notice)}
    assert people["barnskydd@example.org"].reasons == [
        "Mottagare av information: Barnskyddsteamet – följer releaser för Journalen"
    ]
    assert "Mottagare av information: Kommunikation – följer releaser för alla e-tjänster" in (
        people["gunilla.demoqvist@example.org"].reasons
    )
    assert "fredrik.provberg@example.org" not in people

    services.publish(session, notice, None)
    session.commit()
    assert "barnskydd@example.org" in _deliver(runner, outbox)


def test_demo_behorigheter_release_does_not_reach_barnskyddsteamet(demo, session):
    service = _named(session, Service, "Behörigheter för primärvård och privata vårdgivare")
    notice = make_notice(session, NoticeKind.release, service_ids=[service.id])
    assert "barnskydd@example.org" not in {p.email for p in services.recipients(session, notice)}


def test_severity_threshold(demo, session):
    journalen = _named(session, Service, "Journalen")
    high = make_notice(session, service_ids=[journalen.id], severity=Severity.high)
    critical = make_notice(session, service_ids=[journalen.id], severity=Severity.critical)
    assert "gunilla.demoqvist@example.org" not in {p.email for p in services.recipients(session, high)}
    reasons = {p.email: p.reasons for p in services.recipients(session, critical)}
    assert reasons["gunilla.demoqvist@example.org"] == [
        "Mottagare av information: Kommunikation – följer driftstörningar (lägst kritisk) för alla e-tjänster"
    ]


def test_row_without_rules_receives_nothing_and_coordinator_can_still_add(session):
    unit = factories.make_unit(session, name="Enheten")
    factories.make_recipient(session, unit=unit, role="Handläggare")
    factories.make_contact(session, email="h@example.org", unit=unit, role="Handläggare")
    scope = audience.NoticeScope(kind=NoticeKind.general)
    assert audience.resolve(session, scope) == []
    added = audience.resolve(
        session, audience.NoticeScope(kind=NoticeKind.general, edits=[audience.ListEdit("h@example.org")])
    )
    assert [(p.email, p.reasons) for p in added] == [("h@example.org", ["Tillagd av samordnare"])]


def test_demo_rules_are_loaded_once(runner, session):
    assert runner.invoke(args=["commsplan", "demo"]).exit_code == 0
    second = runner.invoke(args=["commsplan", "demo"])
    assert "inget ändrades" in second.output


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("package", ["audience", "subscriptions", "kinds"])
def test_lower_packages_never_import_notices(package):
    for path in (PACKAGE / package).glob("*.py"):
        assert not any(m.startswith("commsplan.notices") for m in _imports(path)), path
