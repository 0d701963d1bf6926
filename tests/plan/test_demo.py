from __future__ import annotations

from sqlalchemy import func, select

from commsplan.activities.models import ChecklistTemplate
from commsplan.extensions import db
from commsplan.plan import demo
from commsplan.plan.models import (
    Channel,
    Collaboration,
    Contact,
    Dependency,
    Goal,
    Guideline,
    InformationNeed,
    NeedKind,
    Plan,
    Recipient,
    Responsibility,
    Service,
    StakeholderGroup,
    System,
    Unit,
    UnitKind,
)

MODELS = (
    Plan,
    Goal,
    Guideline,
    StakeholderGroup,
    InformationNeed,
    Unit,
    Recipient,
    Channel,
    Contact,
    System,
    Service,
    Responsibility,
    Dependency,
    Collaboration,
)


def _counts(session) -> dict[str, int]:
    return {m.__name__: session.scalar(select(func.count()).select_from(m)) for m in MODELS}


def _run_demo(runner) -> str:
    result = runner.invoke(args=["commsplan", "demo"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    return result.output


def test_demo_loads_region_uppsala_plan_in_the_original_wording(runner, session):
    output = _run_demo(runner)
    assert "Demodata inläst" in output

    plan = session.scalar(select(Plan))
    assert plan.region == "Region Uppsala"
    assert plan.purpose.startswith("Planen beskriver de kommunikationsriktlinjer och insatser")
    assert "Primärt används nationell information." in plan.guidelines_intro
    assert [g.text for g in plan.goals][1] == (
        "Att kommunikationen går i linje med objektet Invånartjänster e-hälsas uppdrag och aktiviteter"
    )
    # The plan's checklist is the activity checklist template: one list, not two copies.
    template = session.scalar(select(ChecklistTemplate).where(ChecklistTemplate.key == "activity"))
    assert [q.text for q in template.active_questions] == [
        "Har aktiviteten ett informationsvärde för våra intressenter?",
        "Vilka målgrupper är direkt/indirekt berörda?",
        "Vad är syftet med informationen?",
        "Vad ska informeras om för respektive målgrupp? Vad är kärnan?",
        "Genom vilka informationskanaler når vi bäst respektive målgrupp?",
        "När ska informationen ges?",
        "Vem ansvarar?",
    ]
    urls = [g.url for g in plan.guidelines]
    assert sum(u.startswith("https://www.1177.se/Uppsala-lan/riktlinjer-och-material/") for u in urls) == 3

    groups = session.scalars(select(StakeholderGroup).order_by(StakeholderGroup.position)).all()
    assert [g.name for g in groups] == [
        "Vårdgivare - chefer",
        "Vårdgivare - medarbetare",
        "Invånare/Patienter",
        "Politiken",
        "Allmänhet",
        "Media",
        "Förvaltningar/objekt inom Region Uppsala",
    ]
    assert groups[1].need_kind == NeedKind.receive and groups[0].need_kind == NeedKind.able_to
    assert [n.text for n in groups[0].needs] == [
        "besluta om resurser ska avsättas/omfördelas",
        "sprida information vidare till medarbetare",
        "förbereda verksamheten för kommande förändringar eller utvecklingsinsatser.",
    ]
    assert groups[2].needs[3].text == (
        "information och göra beställningar gällande exempelvis ”Anvisningen för specialfall i Journalen”."
    )

    recipients = session.scalars(select(Recipient).join(Recipient.unit).order_by(Recipient.position)).all()
    organisation = [(r.unit.name, r.role) for r in recipients if r.unit.kind != UnitKind.system_object]
    objects = [(r.unit.name, r.role) for r in recipients if r.unit.kind == UnitKind.system_object]
    assert len(organisation) == 13 and len(objects) == 7
    assert ("Barnombudsmannen", "Barnombudsman") in organisation
    assert ("Kommunikation", "Kommunikationschef för resp. avdelning") in organisation
    assert [name for name, _role in objects] == [
        "KST",
        "Listning och ersättning",
        "EPJ",
        "T4",
        "Prosang",
        "RiS",
        "Rådgivningsstöd 1177",
    ]
    # MedBild is the one further object the responsibility table needs.
    object_units = session.scalars(select(Unit.name).where(Unit.kind == UnitKind.system_object)).all()
    assert sorted(object_units) == sorted([name for name, _role in objects] + ["MedBild"])
    epj = next(r for r in recipients if r.unit.name == "EPJ")
    assert epj.channel.name == "Easit"


def test_demo_responsibility_table_and_dependencies(runner, session):
    _run_demo(runner)
    rows = {
        (r.service.name, r.system.name if r.system else None): r
        for r in session.scalars(select(Responsibility)).all()
    }
    assert len(rows) == 12
    permissions = rows[("Behörigheter för primärvård och privata vårdgivare", None)]
    assert permissions.responsible_unit.name == "VSS Resurscentrum"
    assert permissions.channel.name == "Easit"
    assert permissions.comment.startswith("Administrerar behörigheter för Nära vård och hälsa")
    webbtidbok = {system for service, system in rows if service == "Webbtidbok"}
    assert webbtidbok == {
        "Prosang",
        "Cosmic",
        "T4",
        "RiS",
        "Blodcentralen",
        "EPJ",
        "Folktandvården",
        "MedBild",
    }
    assert rows[("Webbtidbok", "Prosang")].contact_route == "e-post objektledare"
    assert rows[("Webbtidbok", "Prosang")].responsible_unit.name == "Prosang"
    assert {rows[("Webbtidbok", s)].channel.name for s in ("EPJ", "T4", "MedBild")} == {"Easit"}
    assert rows[("Webbtidbok", "EPJ")].comment == "Inrapporterade fel från invånare\nAlla akuta ärenden"
    assert rows[("Journalen", "RGS")].comment == "Frågor/synpunkter/fel rörande Cosmic, T4 och RGS"

    dependencies = session.scalars(select(Dependency).order_by(Dependency.id)).all()
    assert all(d.service is None for d in dependencies)
    assert [d.system.name for d in dependencies] == ["EPJ", "KST", "Prosang", "RiS", "T4", "1177 på telefon"]
    systems = {s.name: s for s in session.scalars(select(System)).all()}
    assert systems["T4"].object_unit.name == "T4"
    assert systems["RGS"].object_unit.name == "Rådgivningsstöd 1177"

    cadences = {c.name: c.cadence for c in session.scalars(select(Collaboration)).all()}
    assert cadences["Nätverket Invånartjänster"] == "4 ggr/år samt vid behov"
    channels = {c.name: c for c in session.scalars(select(Channel)).all()}
    assert channels["Inera driftstatus"].address == "https://www.inera.se/driftstatus/"
    assert (
        channels["Inera planeringskalendern"].address == "https://www.inera.se/aktuellt/planeringskalendern/"
    )


def test_demo_uses_no_real_addresses_and_only_invented_contacts(runner, session):
    _run_demo(runner)
    contacts = session.scalars(select(Contact)).all()
    assert 6 <= len(contacts) <= 10
    assert all(c.email.endswith("@example.org") for c in contacts)
    assert all(c.unit is not None and c.groups for c in contacts)
    texts = [c.address for c in session.scalars(select(Channel))] + [
        session.scalar(select(Plan)).responsibility_intro
    ]
    assert not any("regionuppsala.se" in t for t in texts)


def test_running_demo_twice_changes_nothing_and_keeps_edits(runner, session):
    _run_demo(runner)
    before = _counts(session)
    contact = session.scalar(select(Contact).where(Contact.email == "alva.exempelsson@example.org"))
    contact.name = "Alva Omdöpt"
    contact.phone = "070-000 00 00"
    group = session.scalar(select(StakeholderGroup).where(StakeholderGroup.name == "Media"))
    group.needs[0].text = "En egen formulering"
    session.commit()

    output = _run_demo(runner)

    assert "inget ändrades" in output
    assert _counts(session) == before
    contact = session.scalar(select(Contact).where(Contact.email == "alva.exempelsson@example.org"))
    assert (contact.name, contact.phone) == ("Alva Omdöpt", "070-000 00 00")
    group = session.scalar(select(StakeholderGroup).where(StakeholderGroup.name == "Media"))
    assert [n.text for n in group.needs][0] == "En egen formulering"


def test_demo_adds_only_what_is_missing(session):
    demo.load_demo(session)
    session.commit()
    session.delete(session.scalar(select(Collaboration).where(Collaboration.name == "Samverkan med EPJ")))
    session.commit()
    report = demo.load_demo(session)
    session.commit()
    assert dict(report.added) == {"Collaboration": 1}
