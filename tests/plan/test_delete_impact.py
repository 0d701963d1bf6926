"""Deleting a plan row never silently breaks something else (issue 8, point 1).

The confirmation page names everything the delete touches, by kind and count, with
links; rows that old notices name are retired instead of deleted; the rest go for real.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from sqlalchemy import select

from commsplan.auth.models import Role
from commsplan.delivery.models import OutboxItem
from commsplan.extensions import db
from commsplan.feeds.models import FeedKind, FeedToken
from commsplan.integrity.services import REFERENCES
from commsplan.notices import services as notices
from commsplan.notices.models import Notice, NoticeKind
from commsplan.notices.services import NoticeData
from commsplan.plan.demo import load_demo
from commsplan.plan.models import Collaboration, Service, StakeholderGroup, System
from commsplan.subscriptions.models import Subscription
from tests import factories
from tests.plan.impact_page import affected, links

PLAN_TABLES = {"service", "system", "stakeholder_group", "unit", "channel", "contact"}


def _notice(session, title, *, services=(), systems=(), groups=(), publish=True, close=True) -> Notice:
    data = NoticeData(
        kind=NoticeKind.general,
        title=title,
        body_markdown="Läs mer på 1177.se.",
        service_ids=[s.id for s in services],
        system_ids=[s.id for s in systems],
        group_ids=[g.id for g in groups],
    )
    notice = notices.create_draft(session, data, None)
    if publish:
        notices.publish(session, notice, None)
        if close:
            notices.close(session, notice, None, "Klart.")
    session.flush()
    return notice


class _Choices(HTMLParser):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name, self.values, self._in_select = name, [], False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "select":
            self._in_select = attributes.get("name") == self.name
        elif (tag == "option" and self._in_select) or (
            tag == "input" and attributes.get("name") == self.name
        ):
            self.values.append(attributes.get("value"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._in_select = False


def _choices(page: str, name: str) -> list[int]:
    """The ids a form field offers (checkboxes or a select), read with a real HTML parser."""
    parser = _Choices(name)
    parser.feed(page)
    assert parser.values, name
    return [int(value) for value in parser.values if value]


def test_every_foreign_key_to_a_plan_entity_has_a_described_effect():
    """A new table pointing at the plan cannot be forgotten on the delete pages."""
    described = {(ref.column.table.name, ref.column.name) for ref in REFERENCES}
    missing = [
        (table.name, fk.parent.name)
        for table in db.metadata.sorted_tables
        for fk in table.foreign_keys
        if fk.column.table.name in PLAN_TABLES and (table.name, fk.parent.name) not in described
    ]
    assert missing == []


def test_deleting_journalen_retires_it_and_old_notices_keep_its_name(app, client, auth, session):
    load_demo(session)
    session.flush()
    journalen = session.scalar(select(Service).where(Service.name == "Journalen"))
    old = _notice(session, "Journalen visade fel provsvar", services=[journalen])
    draft = _notice(session, "Ny funktion i Journalen", services=[journalen], publish=False)
    factories.make_contact(session, name="Prenumerant", email="prenumerant@example.org")
    session.add(Subscription(contact=factories.make_contact(session, name="Nyfiken"), service=journalen))
    session.commit()
    rows = len(journalen.responsibilities)
    auth.login(Role.coordinator)
    assert f"service:{journalen.id}" in client.get("/subscriptions").get_data(as_text=True)

    page = client.get(f"/plan/services/{journalen.id}/delete").get_data(as_text=True)
    assert "Arkivera e-tjänsten Journalen?" in page
    found = affected(page)
    assert found["Publicerade och avslutade meddelanden (1)"] == ["Journalen visade fel provsvar"]
    assert found["Utkast till meddelanden (1)"] == ["Ny funktion i Journalen"]
    assert found["Prenumerationer på e-tjänsten (1)"] == ["Nyfiken – Journalen"]
    assert len(found[f"Rader i ansvarstabellen ({rows})"]) == rows
    assert links(page)["Publicerade och avslutade meddelanden (1)"] == [f"/notices/{old.id}"]

    response = client.post(f"/plan/services/{journalen.id}/delete", follow_redirects=True)
    assert "E-tjänsten Journalen är arkiverad." in response.get_data(as_text=True)
    service = session.get(Service, journalen.id)
    assert service.is_retired and service.responsibilities == []
    assert session.get(Notice, draft.id).services == []
    assert session.scalars(select(Subscription)).all() == []

    # History is untouched: the notice page and the public status page still name it.
    assert [s.name for s in session.get(Notice, old.id).services] == ["Journalen"]
    staff_page = client.get(f"/notices/{old.id}").get_data(as_text=True)
    assert "Berörda e-tjänster" in staff_page and "Journalen" in staff_page
    public = app.test_client().get(f"/status/{old.uid}").get_data(as_text=True)
    assert re.search(r"Berörda e-tjänster</dt>\s*<dd>Journalen</dd>", public)

    # Hidden from pickers and lists, shown in the archive, restorable.
    assert journalen.id not in _choices(client.get("/notices/new").get_data(as_text=True), "services")
    assert f"service:{journalen.id}" not in client.get("/subscriptions").get_data(as_text=True)
    assert "Journalen" not in client.get("/plan/services").get_data(as_text=True).split("Visa arkiverade")[0]
    archive = client.get("/plan/services?archived=1").get_data(as_text=True)
    assert f'href="/plan/services/{journalen.id}"' in archive.split("Arkiverade e-tjänster")[1]
    assert "Arkiverad" in client.get(f"/plan/services/{journalen.id}").get_data(as_text=True)
    client.post(f"/plan/services/{journalen.id}/restore")
    assert not session.get(Service, journalen.id).is_retired
    assert journalen.id in _choices(client.get("/notices/new").get_data(as_text=True), "services")


def test_a_row_only_drafts_mention_is_deleted_for_real(client, auth, session):
    system = factories.make_system(session, name="MedBild")
    group = factories.make_stakeholder_group(session, name="Media")
    draft = _notice(session, "Utkast om MedBild", systems=[system], groups=[group], publish=False)
    session.commit()
    auth.login(Role.coordinator)

    for path, model, ident in (("systems", System, system.id), ("stakeholders", StakeholderGroup, group.id)):
        page = client.get(f"/plan/{path}/{ident}/delete").get_data(as_text=True)
        assert affected(page) == {"Utkast till meddelanden (1)": ["Utkast om MedBild"]}
        assert "Ja, ta bort" in page
        assert client.post(f"/plan/{path}/{ident}/delete").status_code == 302
        assert session.get(model, ident) is None
    notice = session.get(Notice, draft.id)
    assert notice.systems == [] and notice.groups == []


def test_an_ongoing_notice_blocks_retiring_what_it_is_about(client, auth, session):
    group = factories.make_stakeholder_group(session, name="Vårdgivare – chefer")
    _notice(session, "Pågående störning", groups=[group], close=False)
    session.commit()
    auth.login(Role.coordinator)

    response = client.post(f"/plan/stakeholders/{group.id}/delete")
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert affected(page)["Pågående meddelanden (avsluta dem först) (1)"] == ["Pågående störning"]
    assert "Ja, ta bort" not in page and "Ja, arkivera" not in page
    assert not session.get(StakeholderGroup, group.id).is_retired


def test_deleting_a_contact_names_and_handles_everything_that_points_at_it(client, auth, session):
    group = factories.make_stakeholder_group(session, name="Politiken")
    service = factories.make_service(session, name="Webbtidbok")
    contact = factories.make_contact(session, name="Ida", email="ida@example.org", groups=[group])
    session.add(Subscription(contact=contact, service=service))
    session.add(FeedToken(kind=FeedKind.contact, target_id=contact.id))
    _notice(session, "Till Politiken", groups=[group], close=False)
    session.commit()
    auth.login(Role.coordinator)

    page = client.get(f"/plan/contacts/{contact.id}/delete").get_data(as_text=True)
    assert affected(page) == {
        "Intressentgrupper (grupperna finns kvar) (1)": ["Politiken"],
        "Prenumerationer (1)": ["Ida – Webbtidbok"],
        "Personliga kalenderflöden (länken slutar fungera) (1)": ["Kalenderflöde"],
        "Skickade och köade utskick (adressen finns kvar) (1)": ["ida@example.org"],
    }

    assert client.post(f"/plan/contacts/{contact.id}/delete").status_code == 302
    assert session.scalars(select(Subscription)).all() == []
    assert session.scalars(select(FeedToken)).all() == []
    [item] = session.scalars(select(OutboxItem)).all()
    assert item.contact_id is None and item.to_address == "ida@example.org"
    assert session.get(StakeholderGroup, group.id).contacts == []


def test_a_new_row_cannot_take_the_name_of_a_retired_one(client, auth, session):
    service = factories.make_service(session, name="Webbtidbok")
    _notice(session, "Webbtidbok låg nere", services=[service])
    session.commit()
    auth.login(Role.coordinator)
    client.post(f"/plan/services/{service.id}/delete")

    response = client.post("/plan/services/new", data={"name": "webbtidbok"})
    assert response.status_code == 400
    assert "Återställ den under ”Visa arkiverade” i stället." in response.get_data(as_text=True)


def test_plan_document_items_use_the_same_confirmation_page(client, auth, session):
    load_demo(session)
    session.commit()
    collaboration = session.scalar(select(Collaboration).order_by(Collaboration.id))
    auth.login(Role.coordinator)
    page = client.get(f"/plan/collaborations/{collaboration.id}/delete").get_data(as_text=True)
    assert "Inget annat hänvisar hit." in page and "Ja, ta bort" in page
    assert client.post(f"/plan/collaborations/{collaboration.id}/delete").status_code == 302
    assert session.get(Collaboration, collaboration.id) is None
