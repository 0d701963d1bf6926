"""Mapping rules: map_text against the demo plan, the rule pages and the commands."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

from commsplan.auth.models import Role
from commsplan.extensions import db
from commsplan.plan.demo import load_demo
from commsplan.plan.models import Service, System
from commsplan.relay.demo import DEMO_RULES, load_demo_rules
from commsplan.relay.rules import MappingRule
from commsplan.relay.rules_services import map_text
from commsplan.relay.understanding import understand
from commsplan.timeutil import utcnow


@pytest.fixture
def demo(session):  # type: ignore[no-untyped-def]
    load_demo(session)
    session.flush()
    load_demo_rules(session)
    session.commit()
    return session


def _service(session, name: str) -> Service:
    return session.scalar(select(Service).where(Service.name == name))


def _system(session, name: str) -> System:
    return session.scalar(select(System).where(System.name == name))


def _rule_count(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(MappingRule))


def test_a_national_journalen_outage_maps_to_the_regional_journalen(demo):
    subject, body = "Driftstörning i 1177 Journalen", "Invånare kan inte se provsvar. Cosmic påverkas inte."
    found = understand(subject, body, received_at=utcnow())
    mapping = map_text(demo, subject, body, found.services)
    assert [s.name for s in mapping.services] == ["Journalen"]
    assert [s.name for s in mapping.systems] == ["Cosmic"]
    matched = {(rule.pattern, text) for rule, text in mapping.matches}
    assert {("1177 Journalen", "1177 Journalen"), ("Journalen", "Journalen"), ("Cosmic", "Cosmic")} == matched
    assert not mapping.unmapped


def test_rules_match_whole_words_in_any_case(demo):
    assert [s.name for s in map_text(demo, "", "Fel i TIDBOKEN? nej: i tidbok.").services] == ["Webbtidbok"]
    # "tidbok" inside "Webbtidboksfel" or "tidboken" is not the word "tidbok".
    assert map_text(demo, "", "Tidbokenfel och tidboken").unmapped
    # Two spaces or a line break between the words of "1177 journal".
    assert [s.name for s in map_text(demo, "", "Om 1177\njournal").services] == ["Journalen"]


def test_an_item_about_stod_och_behandling_is_unmapped(demo):
    found = understand("Servicefönster Stöd och behandling", "Plattformen uppgraderas.", received_at=utcnow())
    mapping = map_text(demo, "Servicefönster Stöd och behandling", "Plattformen uppgraderas.", found.services)
    assert mapping.unmapped and mapping.services == [] and mapping.systems == []


def test_rules_of_a_retired_service_map_nothing(demo):
    _service(demo, "Webbtidbok").retired_at = utcnow()
    demo.commit()
    assert map_text(demo, "Störning i Webbtidbok", "").unmapped


def test_demo_rules_load_once_and_name_plan_targets(demo):
    count = _rule_count(demo)
    assert count == len(DEMO_RULES)
    assert load_demo_rules(demo) == 0
    assert _rule_count(demo) == count


def test_demo_command_loads_the_rules(runner, session):
    first = runner.invoke(args=["commsplan", "demo"])
    assert first.exit_code == 0, first.output
    assert f"{len(DEMO_RULES)} mappningsregler" in first.output
    second = runner.invoke(args=["commsplan", "demo"])
    assert "inget ändrades" in second.output
    assert _rule_count(session) == len(DEMO_RULES)


def test_coordinator_creates_a_rule_from_an_item_and_returns_to_it(app, client, auth, demo):
    auth.login(Role.coordinator)
    form = client.get("/relay/rules/new?pattern=St%C3%B6d+och+behandling&next=/relay/items/7")
    assert form.status_code == 200
    page = form.get_data(as_text=True)
    assert 'value="Stöd och behandling"' in page and 'value="/relay/items/7"' in page
    webbtidbok = _service(demo, "Webbtidbok")
    response = client.post(
        "/relay/rules/new",
        data={
            "pattern": "Stöd och behandling",
            "service_id": str(webbtidbok.id),
            "system_id": "",
            "next": "/relay/items/7",
        },
    )
    assert response.status_code == 302 and response.headers["Location"] == "/relay/items/7"
    rule = demo.scalar(select(MappingRule).where(MappingRule.pattern == "Stöd och behandling"))
    assert rule.service_id == webbtidbok.id and rule.created_by.email == "coordinator@example.org"
    assert not map_text(demo, "Servicefönster Stöd och behandling", "").unmapped


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"]
)
def test_next_must_be_a_local_path(client, auth, demo, target: str):
    auth.login(Role.coordinator)
    response = client.post(
        "/relay/rules/new",
        data={"pattern": "Vårdgivarwebben", "system_id": str(_system(demo, "KST").id), "next": target},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/relay/rules/"


BAD = [
    {"pattern": "", "service_id": "1"},
    {"pattern": "   ", "service_id": "1"},
    {"pattern": "Vårdgivarwebben", "service_id": "", "system_id": ""},
    {"pattern": "Vårdgivarwebben", "service_id": "99999"},
    {"pattern": "Vårdgivarwebben", "service_id": "99999999999999999999999"},
    {"pattern": "Vårdgivarwebben", "service_id": "abc"},
    {"pattern": "Vård\x00givarwebben", "service_id": "1"},
    {"pattern": "x" * 201, "service_id": "1"},
    {"pattern": "journalen", "service_id": "JOURNALEN"},  # the same rule as a demo rule
]


@pytest.mark.parametrize("data", BAD)
def test_bad_rules_are_refused_with_a_message_and_nothing_stored(client, auth, demo, data: dict[str, str]):
    auth.login(Role.coordinator)
    if data.get("service_id") == "JOURNALEN":
        data = {**data, "service_id": str(_service(demo, "Journalen").id)}
    before = _rule_count(demo)
    response = client.post("/relay/rules/new", data=data)
    assert response.status_code == 422
    assert 'class="error-summary"' in response.get_data(as_text=True)
    assert _rule_count(demo) == before


def test_coordinator_edits_and_deletes_a_rule(client, auth, demo):
    auth.login(Role.coordinator)
    rule = demo.scalar(select(MappingRule).where(MappingRule.pattern == "Webbtidboken"))
    rule_id, rgs = rule.id, _system(demo, "RGS")
    page = client.get(f"/relay/rules/{rule_id}/edit?next=/relay/items/3")
    assert page.status_code == 200 and 'value="Webbtidboken"' in page.get_data(as_text=True)
    assert 'value="/relay/items/3"' in page.get_data(as_text=True)
    response = client.post(
        f"/relay/rules/{rule_id}/edit",
        data={"pattern": "Rådgivningsstöd", "service_id": "", "system_id": str(rgs.id), "note": "Nytt namn"},
    )
    assert response.status_code == 302
    demo.expire_all()
    changed = demo.get(MappingRule, rule_id)
    assert (changed.pattern, changed.service_id, changed.system_id, changed.note) == (
        "Rådgivningsstöd",
        None,
        rgs.id,
        "Nytt namn",
    )
    listing = client.get("/relay/rules/").get_data(as_text=True)
    assert "Rådgivningsstöd" in listing and "Nytt namn" in listing

    assert client.get(f"/relay/rules/{rule_id}/delete").status_code == 200
    assert client.post(f"/relay/rules/{rule_id}/delete").status_code == 302
    demo.expire_all()
    assert demo.get(MappingRule, rule_id) is None
    assert client.get(f"/relay/rules/{rule_id}/edit").status_code == 404
    assert client.get("/relay/rules/99999999999999/edit").status_code == 404


def test_viewers_read_the_rules_but_change_nothing(client, auth, demo):
    auth.login(Role.viewer)
    listing = client.get("/relay/rules/")
    assert listing.status_code == 200
    page = listing.get_data(as_text=True)
    assert "1177 journal" in page and "/relay/rules/new" not in page and "/edit" not in page
    assert client.get("/relay/rules/new").status_code == 403
    before = _rule_count(demo)
    assert client.post("/relay/rules/new", data={"pattern": "x", "service_id": "1"}).status_code == 403
    assert _rule_count(demo) == before


def test_deleting_a_service_removes_its_rules(client, auth, demo):
    auth.login(Role.coordinator)
    webbtidbok = _service(demo, "Webbtidbok")
    impact = client.get(f"/plan/services/{webbtidbok.id}/delete").get_data(as_text=True)
    assert "Mappningsregler för nationell information" in impact


def test_cli_lists_and_adds_rules(runner, demo):
    added = runner.invoke(
        args=["commsplan", "relay", "add-rule", "--pattern", "Vårdgivarwebben", "--system", "KST"]
    )
    assert added.exit_code == 0, added.output
    listed = runner.invoke(args=["commsplan", "relay", "rules"])
    assert "Vårdgivarwebben\t→ KST" in listed.output
    missing = runner.invoke(
        args=["commsplan", "relay", "add-rule", "--pattern", "X", "--service", "Finns inte"]
    )
    assert missing.exit_code != 0 and "finns inte" in missing.output
    neither = runner.invoke(args=["commsplan", "relay", "add-rule", "--pattern", "X"])
    assert neither.exit_code != 0 and "Välj en e-tjänst" in neither.output
    assert (
        db.session.scalar(select(func.count()).select_from(MappingRule).where(MappingRule.pattern == "X"))
        == 0
    )


def test_rules_page_and_evidence_in_english(app, client, auth, demo):
    auth.login(Role.viewer)
    page = client.get("/relay/rules/?lang=en").get_data(as_text=True)
    assert "<h1>Mapping rules</h1>" in page and "Inga regler" not in page
    with app.test_request_context("/?lang=en"):
        found = understand("Driftstörning i Journalen", "", received_at=utcnow())
    assert found.kind_evidence[0].reason == 'The word "Driftstörning" in the subject'
    assert found.service_evidence[0].reason == 'The service "Journalen" is named in the subject'


@pytest.mark.parametrize("value", ["abc", "99999", "99999999999999999999999", "2.5"])
def test_a_bad_choice_is_explained_in_swedish(client, auth, demo, value: str):
    auth.login(Role.coordinator)
    response = client.post("/relay/rules/new", data={"pattern": "Vårdgivarwebben", "service_id": value})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Välj ett av alternativen i listan." in page or "Ange ett heltal" in page
    assert "coerce" not in page


def test_the_plan_lists_link_to_the_rules(client, auth, demo):
    auth.login(Role.viewer)
    for url in ("/plan/services", "/plan/systems"):
        page = client.get(url, follow_redirects=True).get_data(as_text=True)
        assert 'href="/relay/rules/"' in page, url


def _queries(client, url: str) -> tuple[int, str]:
    seen: list[int] = []

    def count(*_args: object) -> None:
        seen.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = client.get(url)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return len(seen), response.get_data(as_text=True)


def test_the_rule_list_is_searched_and_paged_at_a_fixed_cost(app, client, auth, demo):
    auth.login(Role.viewer)
    app.config["PAGE_SIZE"] = 10
    few, page = _queries(client, "/relay/rules/")
    assert f"{len(DEMO_RULES)} regler" in page and "sida 1 av 3" in page
    journalen = _service(demo, "Journalen")
    for number in range(40):
        demo.add(MappingRule(pattern=f"zz-ord {number}", service=journalen))
    demo.commit()
    many, page = _queries(client, "/relay/rules/")
    assert many == few and "sida 1 av 7" in page
    assert "zz-ord" not in page and "zz-ord" in client.get("/relay/rules/?page=7").get_data(as_text=True)
    # The search looks at the pattern, the note and the target's name, in any case.
    _count, found = _queries(client, "/relay/rules/?q=STÖD")
    assert "1 regel" in found and "Rådgivningsstödet" in found
    _count, found = _queries(client, "/relay/rules/?q=cosmic")
    assert "1 regel" in found and '<th scope="row">Cosmic</th>' in found
    _count, found = _queries(client, "/relay/rules/?q=rådgivningsstöd+1177")
    assert "0 regler" in found
    _count, found = _queries(client, "/relay/rules/?q=rgs")
    assert "2 regler" in found  # "RGS" and "Rådgivningsstödet" → RGS
    assert client.get("/relay/rules/?q=a%00b").status_code == 400
    assert client.get("/relay/rules/?page=99999999999999999").status_code == 200
