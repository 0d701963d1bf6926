from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from commsplan.activities import services as activities
from commsplan.auth.models import Role
from commsplan.plan.demo import load_demo
from commsplan.plan.models import (
    Channel,
    Collaboration,
    Dependency,
    Goal,
    Guideline,
    Plan,
    Service,
    StakeholderGroup,
    System,
)
from tests import factories
from tests.activities.helpers import Groups, complete_activity

SECTION_ORDER = [
    "Syfte",
    "Intressenter",
    "Riktlinjer",
    "Kommunikationsmål",
    "Kommunikationskanaler",
    "Mottagare av information",
    "Vem får vad",  # added by the audience package
    "Kontakter och ansvar per tjänst",
    "Informationsspridning och ansvarsfördelning",
    "Samverkan inom Region Uppsala",
    "Att tänka på vid olika aktivitetsinsatser",
]


@pytest.fixture
def demo_plan(session):
    load_demo(session)
    # As after ``db upgrade``: the migrations ship the checklist templates.
    activities.ensure_default_templates(session)
    session.commit()
    return session.scalar(select(Plan))


def _h2s(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<h2[^>]*>(.*?)</h2>", html, re.S)]


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_anonymous_is_sent_to_login(client):
    assert "/login" in client.get("/plan").headers["Location"]
    assert "/login" in client.get("/plan.md").headers["Location"]


def test_without_a_plan_the_page_explains_how_to_start(client, auth):
    auth.login(Role.coordinator)
    response = client.get("/plan")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "flask commsplan demo" in page
    assert "/plan/edit" in page
    assert client.get("/plan.md").status_code == 404


def test_document_shows_the_sections_in_the_order_of_the_original(client, auth, demo_plan):
    auth.login(Role.viewer)
    page = client.get("/plan").get_data(as_text=True)
    headings = _h2s(page)
    assert headings[0] == "Innehåll"
    assert headings[1:] == SECTION_ORDER
    assert "Primärt används nationell information." in page
    assert "Övriga systemförvaltningsobjekt" in page
    assert '<th scope="col">Frågeställningar</th>' in page and "Check √" in page
    assert "Har aktiviteten ett informationsvärde för våra intressenter?" in page
    # Webbtidbok's eight systems share one service cell and one comment cell.
    assert re.search(r'<th scope="rowgroup" rowspan=8[^>]*>Webbtidbok</th>', page)
    assert page.count("Inrapporterade fel från invånare") == 1
    assert 'href="https://www.inera.se/driftstatus/"' in page
    assert "Version 1.0" in page
    assert 'href="/plan.md"' in page


def test_markdown_download_has_the_same_content(client, auth, demo_plan):
    auth.login(Role.viewer)
    response = client.get("/plan.md")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/markdown; charset=utf-8"
    assert (
        response.headers["Content-Disposition"] == "attachment; filename=kommunikationsplan-region-uppsala.md"
    )
    text = response.get_data(as_text=True)
    assert text.startswith("# Kommunikationsplan för 1177 e-tjänster/Invånartjänster\n")
    headings = [line[3:] for line in text.splitlines() if line.startswith("## ")]
    assert headings == ["Innehåll", *SECTION_ORDER]
    assert "| Frågeställningar | Check √ |" in text
    assert "| Har aktiviteten ett informationsvärde för våra intressenter? |   |" in text
    assert "| Nära vård och hälsa | E-hälsostrateg |" in text
    assert (
        "### Vårdgivare - chefer\n\n*För att kunna:*\n\n- besluta om resurser ska avsättas/omfördelas\n"
        in text
    )
    assert "[Varumärkesmanual för 1177](https://www.1177.se/" in text
    assert "Inrapporterade fel från invånare<br>Alla akuta ärenden" in text


def test_an_edit_through_the_ui_shows_in_the_document_and_download(client, auth, session, demo_plan):
    auth.login(Role.coordinator)
    before = demo_plan.updated_at
    form = client.get("/plan/edit")
    assert form.status_code == 200
    data = {
        "region": "Region Uppsala",
        "title": demo_plan.title,
        "version": "1.1",
        "purpose": "Ett nytt syfte <script>alert(1)</script> för *alla*.",
        "dissemination": demo_plan.dissemination,
    }
    response = client.post("/plan/edit", data=data)
    assert response.status_code == 302
    page = client.get("/plan").get_data(as_text=True)
    assert "Ett nytt syfte &lt;script&gt;alert(1)&lt;/script&gt; för *alla*." in page
    assert "<script>alert" not in page
    assert "Version 1.1" in page
    session.expire_all()
    assert session.scalar(select(Plan)).updated_at >= before
    markdown = client.get("/plan.md").get_data(as_text=True)
    assert r"Ett nytt syfte \<script\>alert(1)\</script\> för \*alla\*." in markdown


def test_plan_form_creates_the_plan_when_there_is_none(client, auth, session):
    auth.login(Role.coordinator)
    response = client.post(
        "/plan/edit", data={"region": "Region Exempel", "title": "Vår plan", "version": "0.1"}
    )
    assert response.status_code == 302
    plan = session.scalar(select(Plan))
    assert (plan.region, plan.title, plan.purpose) == ("Region Exempel", "Vår plan", "")
    page = client.get("/plan").get_data(as_text=True)
    assert "Vår plan" in page and "Samverkan inom Region Exempel" in page
    assert "Syftet är inte ifyllt." in page


def test_plan_form_with_missing_title_is_refused(client, auth, session, demo_plan):
    auth.login(Role.coordinator)
    response = client.post("/plan/edit", data={"region": "Region Uppsala", "title": " ", "version": "2"})
    assert response.status_code == 400
    assert "Ange en titel." in response.get_data(as_text=True)
    session.expire_all()
    assert session.scalar(select(Plan)).version == "1.0"


def test_viewer_reads_but_cannot_edit(client, auth, session, demo_plan):
    auth.login(Role.viewer)
    page = client.get("/plan").get_data(as_text=True)
    assert "/plan/edit" not in page and "Ändra mål" not in page
    assert client.get("/plan/edit").status_code == 403
    assert client.post("/plan/edit", data={"region": "X", "title": "X", "version": "X"}).status_code == 403
    assert client.get("/plan/goals/").status_code == 403
    assert client.post("/plan/goals/new", data={"text": "Nytt mål"}).status_code == 403
    goal = demo_plan.goals[0]
    assert client.post(f"/plan/goals/{goal.id}/delete").status_code == 403
    assert client.post(f"/plan/goals/{goal.id}/move/down").status_code == 403
    session.expire_all()
    assert _count(session, Goal) == 2
    assert session.scalar(select(Plan)).title == demo_plan.title


def test_guideline_with_bad_address_is_refused_and_nothing_stored(client, auth, session, demo_plan):
    auth.login(Role.coordinator)
    for url in ("javascript:alert(1)", "www.1177.se", "https://", "https://exa mple.org"):
        response = client.post("/plan/guidelines/new", data={"title": "Ny riktlinje", "url": url})
        assert response.status_code == 400, url
        assert "Ange en fullständig webbadress" in response.get_data(as_text=True)
    assert _count(session, Guideline) == 4
    guideline = demo_plan.guidelines[0]
    response = client.post(f"/plan/guidelines/{guideline.id}/edit", data={"title": "", "url": "ftp://x"})
    assert response.status_code == 400
    session.expire_all()
    assert session.get(Guideline, guideline.id).title == "Nationella riktlinjer"


def test_guideline_added_with_link_appears_last(client, auth, session, demo_plan):
    auth.login(Role.coordinator)
    response = client.post(
        "/plan/guidelines/new", data={"title": "Klarspråk", "url": "https://www.isof.se/klarsprak"}
    )
    assert response.status_code == 302
    page = client.get("/plan").get_data(as_text=True)
    riktlinjer = page[page.index('id="riktlinjer"') : page.index('id="mal"')]
    assert riktlinjer.index("Varumärkesmanual för 1177") < riktlinjer.index(
        '<a href="https://www.isof.se/klarsprak">Klarspråk</a>'
    )


def test_goals_are_reordered_edited_and_deleted(client, auth, session, demo_plan):
    auth.login(Role.coordinator)
    first, second = demo_plan.goals
    assert client.post(f"/plan/goals/{second.id}/move/up").status_code == 302
    page = client.get("/plan").get_data(as_text=True)
    assert page.index("Att kommunikationen går i linje") < page.index("Att ge en enhetlig och korrekt")

    assert client.post(f"/plan/goals/{first.id}/edit", data={"text": "Ett tydligare mål"}).status_code == 302
    assert "Ett tydligare mål" in client.get("/plan").get_data(as_text=True)

    confirm = client.get(f"/plan/goals/{first.id}/delete")
    assert confirm.status_code == 200 and "Ta bort mål" in confirm.get_data(as_text=True)
    assert client.post(f"/plan/goals/{first.id}/delete").status_code == 302
    session.expire_all()
    assert [g.text for g in session.scalars(select(Goal))] == [second.text]


def test_the_plans_checklist_is_the_activity_template_as_admins_edit_it(client, auth, session, demo_plan):
    """One source: the plan document shows the activity checklist template's current
    questions; an answer given earlier keeps the wording it was given under."""
    template = activities.default_template(session)
    groups = session.scalars(select(StakeholderGroup).order_by(StakeholderGroup.id)).all()
    channels = session.scalars(select(Channel).order_by(Channel.id)).all()
    activity = complete_activity(session, g=Groups(groups[0], groups[1], channels[0], channels[1]))
    session.commit()
    auth.login(Role.admin)
    markdown = client.get("/plan.md").get_data(as_text=True)
    assert markdown.index("Har aktiviteten ett informationsvärde") < markdown.index("Vem ansvarar?")

    responsible = next(q for q in template.questions if q.text == "Vem ansvarar?")
    response = client.post(
        f"/activities/questions/{responsible.id}/edit",
        data={"text": "Vem ansvarar för att informationen går ut?", "answer_kind": "responsible"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert (
        client.post(
            f"/activities/templates/{template.id}/questions/new",
            data={"text": "Är materialet tillgänglighetsanpassat?", "answer_kind": "text"},
        ).status_code
        == 302
    )
    page = client.get("/plan").get_data(as_text=True)
    assert "Vem ansvarar för att informationen går ut?" in page
    assert "Är materialet tillgänglighetsanpassat?" in page
    assert "<td>Vem ansvarar?</td>" not in page
    # The plan page sends whoever edits the questions to the template.
    assert 'href="/activities/templates"' in page
    # The answer given before the edit keeps its wording.
    session.expire_all()
    answered = {a.question_text for a in session.get(type(activity), activity.id).answers}
    assert "Vem ansvarar?" in answered
    assert "/plan/checklist" not in page
    assert client.get("/plan/checklist").status_code == 404


def test_collaboration_names_are_unique(client, auth, session, demo_plan):
    auth.login(Role.coordinator)
    response = client.post(
        "/plan/collaborations/new", data={"name": "nätverket invånartjänster", "cadence": "Varje vecka"}
    )
    assert response.status_code == 400
    assert "Det finns redan en samverkan med det namnet." in response.get_data(as_text=True)
    assert _count(session, Collaboration) == 3
    response = client.post(
        "/plan/collaborations/new", data={"name": "Agenda 1177", "cadence": "7 gånger per år"}
    )
    assert response.status_code == 302
    assert "7 gånger per år" in client.get("/plan").get_data(as_text=True)


def test_unknown_list_or_item_is_not_found(client, auth, demo_plan):
    auth.login(Role.coordinator)
    assert client.get("/plan/nothing/").status_code == 404
    assert client.get("/plan/goals/999999/edit").status_code == 404


def test_document_is_generated_from_the_rows(client, auth, session, demo_plan):
    unit = factories.make_unit(session, name="Region | Test <b>")
    factories.make_recipient(session, unit=unit, role="Samordnare | kväll", position=99)
    service = session.scalar(select(Service).where(Service.name == "Journalen"))
    system = session.scalar(select(System).where(System.name == "KST"))
    session.add(Dependency(service=service, system=system, note="Endast vid inloggning"))
    session.commit()
    auth.login(Role.viewer)
    page = client.get("/plan").get_data(as_text=True)
    assert "Region | Test &lt;b&gt;" in page
    assert "Beroenden per e-tjänst" in page and "Endast vid inloggning" in page
    markdown = client.get("/plan.md").get_data(as_text=True)
    assert r"| Region \| Test \<b\> | Samordnare \| kväll |" in markdown
    assert "| Journalen | KST | Endast vid inloggning |" in markdown


def test_editing_plan_content_elsewhere_moves_the_documents_updated_time(client, auth, session, runner):
    from datetime import UTC, datetime

    from sqlalchemy import select

    from commsplan.plan.models import Channel, Plan

    runner.invoke(args=["commsplan", "demo"])
    plan = session.scalar(select(Plan))
    plan.updated_at = datetime(2020, 1, 1, tzinfo=UTC)
    session.commit()
    channel = session.scalar(select(Channel).order_by(Channel.id))
    channel.audience = "Alla kontaktpersoner"
    session.commit()
    session.expire_all()
    assert session.scalar(select(Plan)).updated_at.year > 2020
