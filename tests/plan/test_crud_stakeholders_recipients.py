from __future__ import annotations

from sqlalchemy import func, select

from commsplan.auth.models import Role
from commsplan.plan.models import (
    Contact,
    InformationNeed,
    NeedKind,
    Recipient,
    StakeholderGroup,
    UnitKind,
)
from tests import factories
from tests.plan.impact_page import affected


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_stakeholder_group_keeps_its_needs_in_order(client, auth, session):
    auth.login(Role.coordinator)
    response = client.post(
        "/plan/stakeholders/new",
        data={
            "name": "Vårdgivare – chefer",
            "need_kind": "kunna",
            "needs_text": (
                "ta beslut om resurser\r\n\r\n- föra informationen vidare\r\n• förbereda verksamheten\r\n"
            ),
        },
    )
    assert response.status_code == 302
    group = session.scalar(select(StakeholderGroup))
    assert [n.text for n in group.needs] == [
        "ta beslut om resurser",
        "föra informationen vidare",
        "förbereda verksamheten",
    ]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "för att kunna" in page
    assert page.index("ta beslut") < page.index("föra informationen") < page.index("förbereda")

    form = client.get(f"/plan/stakeholders/{group.id}/edit").get_data(as_text=True)
    assert "ta beslut om resurser\nföra informationen vidare\nförbereda verksamheten" in form

    client.post(
        f"/plan/stakeholders/{group.id}/edit",
        data={
            "name": "Vårdgivare – chefer",
            "need_kind": "få",
            "needs_text": "förbereda verksamheten\nnytt behov",
        },
    )
    session.expire_all()
    group = session.get(StakeholderGroup, group.id)
    assert group.need_kind == NeedKind.receive
    assert [(n.position, n.text) for n in group.needs] == [(1, "förbereda verksamheten"), (2, "nytt behov")]
    assert _count(session, InformationNeed) == 2


def test_new_groups_go_last_unless_given_a_position(client, auth, session):
    auth.login(Role.coordinator)
    factories.make_stakeholder_group(session, name="Först", position=4)
    session.commit()
    client.post("/plan/stakeholders/new", data={"name": "Sist", "need_kind": "kunna"}, follow_redirects=True)
    assert session.scalar(select(StakeholderGroup).where(StakeholderGroup.name == "Sist")).position == 5
    listing = client.get("/plan/stakeholders").get_data(as_text=True)
    assert listing.index("Först") < listing.index("Sist")


def test_bad_stakeholder_input_stores_nothing(client, auth, session):
    auth.login(Role.coordinator)
    factories.make_stakeholder_group(session, name="Media")
    session.commit()
    duplicate = client.post("/plan/stakeholders/new", data={"name": "Media", "need_kind": "kunna"})
    assert duplicate.status_code == 400
    assert "Det finns redan en intressentgrupp med det namnet." in duplicate.get_data(as_text=True)
    bad = client.post("/plan/stakeholders/new", data={"name": "X", "need_kind": "kunna", "position": "-3"})
    assert bad.status_code == 400 and "Ange ett heltal från 0 och uppåt." in bad.get_data(as_text=True)
    assert _count(session, StakeholderGroup) == 1


def test_deleting_a_group_unlinks_its_contacts_and_says_so_first(client, auth, session):
    auth.login(Role.coordinator)
    group = factories.make_stakeholder_group(session, name="Allmänhet")
    group.needs = [InformationNeed(text="se patientnytta", position=1)]
    contact = factories.make_contact(session, name="Gustav", groups=[group])
    session.commit()

    confirm = client.get(f"/plan/stakeholders/{group.id}/delete").get_data(as_text=True)
    assert affected(confirm) == {
        "Informationsbehov (1)": ["se patientnytta"],
        "Kontakter i gruppen (kontakterna finns kvar) (1)": ["Gustav"],
    }

    client.post(f"/plan/stakeholders/{group.id}/delete")
    assert _count(session, StakeholderGroup) == 0
    assert _count(session, InformationNeed) == 0
    session.expire_all()
    assert session.get(Contact, contact.id).groups == []


def test_create_edit_delete_recipient(client, auth, session):
    auth.login(Role.coordinator)
    unit = factories.make_unit(session, name="Patientnämnden")
    channel = factories.make_channel(session, name="Easit")
    session.commit()

    form = client.get(f"/plan/recipients/new?unit={unit.id}").get_data(as_text=True)
    assert f'<option selected value="{unit.id}">Patientnämnden</option>' in form

    created = client.post(
        "/plan/recipients/new",
        data={
            "unit_id": str(unit.id),
            "role": "Handläggare",
            "channel_id": str(channel.id),
            "contact_route": "via Easit",
        },
    )
    assert created.status_code == 302
    recipient = session.scalar(select(Recipient))
    assert (recipient.unit, recipient.channel, recipient.contact_route) == (unit, channel, "via Easit")

    client.post(
        f"/plan/recipients/{recipient.id}/edit",
        data={"unit_id": str(unit.id), "role": "Samordnare", "channel_id": ""},
    )
    session.expire_all()
    recipient = session.get(Recipient, recipient.id)
    assert recipient.role == "Samordnare" and recipient.channel is None

    client.post(f"/plan/recipients/{recipient.id}/delete")
    assert _count(session, Recipient) == 0


def test_recipient_needs_a_unit_and_a_role_once_per_unit(client, auth, session):
    auth.login(Role.coordinator)
    unit = factories.make_unit(session, name="CESÅ")
    factories.make_recipient(session, unit=unit, role="Handläggare")
    session.commit()
    missing = client.post("/plan/recipients/new", data={"unit_id": "", "role": ""})
    assert missing.status_code == 400
    page = missing.get_data(as_text=True)
    assert "Välj en enhet." in page and "Ange en roll." in page
    duplicate = client.post("/plan/recipients/new", data={"unit_id": str(unit.id), "role": "handläggare"})
    assert duplicate.status_code == 400
    assert "CESÅ har redan en mottagare med den rollen." in duplicate.get_data(as_text=True)
    assert _count(session, Recipient) == 1


def test_recipients_search_and_unit_kind_filter(client, auth, session):
    auth.login(Role.viewer)
    factories.make_recipient(session, unit=factories.make_unit(session, name="ITC"), role="OL-IT")
    factories.make_recipient(
        session,
        unit=factories.make_unit(session, name="T4", kind=UnitKind.system_object),
        role="Objektledare",
        contact_route="via Easit",
    )
    session.commit()

    def shown(query: str) -> list[str]:
        page = client.get(f"/plan/recipients?{query}").get_data(as_text=True)
        return [role for role in ("OL-IT", "Objektledare") if role in page]

    assert shown("") == ["OL-IT", "Objektledare"]
    assert shown("kind=system_object") == ["Objektledare"]
    assert shown("kind=administration") == ["OL-IT"]
    assert shown("q=easit") == ["Objektledare"]
    assert shown("q=itc") == ["OL-IT"]
    assert "Inga mottagare matchar." in client.get("/plan/recipients?q=finnsinte").get_data(as_text=True)
    assert client.get("/plan/recipients?kind=planet").status_code == 400
