from __future__ import annotations

from sqlalchemy import func, select

from commsplan.auth.models import Role
from commsplan.plan.models import Contact
from tests import factories
from tests.plan.impact_page import affected


def _count(session) -> int:
    return session.scalar(select(func.count()).select_from(Contact))


def test_coordinator_creates_a_contact_with_groups(client, auth, session):
    auth.login(Role.coordinator)
    unit = factories.make_unit(session, name="Akademiska sjukhuset")
    first = factories.make_stakeholder_group(session, name="Vårdgivare – chefer", position=1)
    second = factories.make_stakeholder_group(session, name="Media", position=6)
    session.commit()

    response = client.post(
        "/plan/contacts/new",
        data={
            "name": "Anna Andersson",
            "email": " Anna.Andersson@Example.org ",
            "phone": "018-611 00 00",
            "unit_id": str(unit.id),
            "role": "Centrala e-tjänstesamordnare",
            "group_ids": [str(second.id), str(first.id)],
            "language": "en",
            "active": "y",
        },
    )

    assert response.status_code == 302
    contact = session.scalar(select(Contact))
    assert contact.email == "anna.andersson@example.org"
    assert contact.unit == unit and contact.language == "en" and contact.active
    assert [g.name for g in contact.groups] == ["Vårdgivare – chefer", "Media"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Kontakten Anna Andersson är skapad." in page
    assert "Akademiska sjukhuset" in page and "Engelska" in page


def test_bad_contact_input_is_refused_in_swedish_and_nothing_is_stored(client, auth, session):
    auth.login(Role.coordinator)
    response = client.post(
        "/plan/contacts/new", data={"name": "", "email": "inte-en-adress", "language": "sv"}
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Formuläret innehåller fel" in page
    assert "Ange kontaktens namn." in page
    assert "Ange en giltig e-postadress" in page
    assert _count(session) == 0


def test_unknown_unit_or_language_is_refused(client, auth, session):
    auth.login(Role.coordinator)
    response = client.post(
        "/plan/contacts/new",
        data={"name": "Bo", "email": "bo@example.org", "unit_id": "999", "language": "de"},
    )
    assert response.status_code == 400
    assert _count(session) == 0


def test_duplicate_email_is_a_field_error_not_a_crash(client, auth, session):
    auth.login(Role.coordinator)
    factories.make_contact(session, name="Första", email="delad@example.org")
    session.commit()
    response = client.post(
        "/plan/contacts/new", data={"name": "Andra", "email": "DELAD@example.org", "language": "sv"}
    )
    assert response.status_code == 400
    assert "Det finns redan en kontakt med e-postadressen delad@example.org." in response.get_data(
        as_text=True
    )
    assert _count(session) == 1


def test_edit_contact_keeps_own_email_and_changes_groups(client, auth, session):
    auth.login(Role.coordinator)
    group = factories.make_stakeholder_group(session)
    contact = factories.make_contact(session, name="Cecilia", email="cecilia@example.org", groups=[group])
    session.commit()

    form = client.get(f"/plan/contacts/{contact.id}/edit").get_data(as_text=True)
    assert 'value="cecilia@example.org"' in form
    assert "checked" in form  # the group is ticked

    response = client.post(
        f"/plan/contacts/{contact.id}/edit",
        data={"name": "Cecilia C", "email": "cecilia@example.org", "language": "sv"},
    )
    assert response.status_code == 302
    session.expire_all()
    contact = session.get(Contact, contact.id)
    assert contact.name == "Cecilia C"
    assert contact.groups == []
    assert contact.active is False  # an unticked box means inactive


def test_delete_contact_asks_first_and_names_its_group_links(client, auth, session):
    auth.login(Role.coordinator)
    group = factories.make_stakeholder_group(session, name="Politiken")
    contact = factories.make_contact(session, name="David", groups=[group])
    session.commit()

    confirm = client.get(f"/plan/contacts/{contact.id}/delete")
    assert confirm.status_code == 200
    assert "Ta bort kontakten David?" in confirm.get_data(as_text=True)
    assert affected(confirm.get_data(as_text=True)) == {
        "Intressentgrupper (grupperna finns kvar) (1)": ["Politiken"]
    }
    assert _count(session) == 1

    response = client.post(f"/plan/contacts/{contact.id}/delete", follow_redirects=True)
    assert "Kontakten David är borttagen." in response.get_data(as_text=True)
    assert _count(session) == 0
    session.expire_all()
    assert session.get(type(group), group.id).contacts == []


def test_search_and_filters_return_the_right_contacts(client, auth, session):
    auth.login(Role.viewer)
    uas = factories.make_unit(session, name="Akademiska sjukhuset")
    lie = factories.make_unit(session, name="Lasarettet i Enköping")
    media = factories.make_stakeholder_group(session, name="Media")
    factories.make_contact(session, name="Anna Ek", email="anna@example.org", unit=uas, role="Samordnare")
    factories.make_contact(
        session,
        name="Bertil Lund",
        email="bertil@example.org",
        unit=lie,
        role="Vårdsystemsamordnare",
        groups=[media],
    )
    factories.make_contact(session, name="Cilla Berg", email="cilla@example.org", unit=uas, active=False)
    session.commit()

    def names(query: str) -> list[str]:
        page = client.get(f"/plan/contacts?{query}").get_data(as_text=True)
        return [n for n in ("Anna Ek", "Bertil Lund", "Cilla Berg") if n in page]

    assert names("") == ["Anna Ek", "Bertil Lund", "Cilla Berg"]
    assert names("q=bertil%40") == ["Bertil Lund"]  # e-mail
    assert names("q=SAMORDNARE") == ["Anna Ek", "Bertil Lund"]  # role, any case
    assert names(f"unit={uas.id}") == ["Anna Ek", "Cilla Berg"]
    assert names(f"group={media.id}") == ["Bertil Lund"]
    assert names("active=0") == ["Cilla Berg"]
    assert names(f"active=1&unit={uas.id}") == ["Anna Ek"]
    assert names("q=%25") == []  # a literal %, not a wildcard


def test_search_ignores_case_of_swedish_letters(client, auth, session):
    auth.login(Role.viewer)
    factories.make_contact(session, name="Örjan Åberg", email="orjan@example.org")
    factories.make_contact(session, name="Ulla Ek", email="ulla@example.org")
    session.commit()
    for term in ("örjan", "ÅBERG", "örjan åberg"):
        page = client.get("/plan/contacts", query_string={"q": term}).get_data(as_text=True)
        assert "Örjan Åberg" in page and "Ulla Ek" not in page, term


def test_bad_filter_value_is_a_400_with_a_message(client, auth):
    auth.login(Role.viewer)
    response = client.get("/plan/contacts?unit=abc")
    assert response.status_code == 400


def test_contacts_are_paged_and_pages_keep_the_filter(app, client, auth, session):
    app.config["PAGE_SIZE"] = 5
    auth.login(Role.viewer)
    for n in range(12):
        factories.make_contact(session, name=f"Person {n:02d}", email=f"p{n}@example.org", role="Handläggare")
    factories.make_contact(session, name="Annan roll", email="x@example.org", role="Chef")
    session.commit()

    first = client.get("/plan/contacts?q=handl").get_data(as_text=True)
    assert "12 kontakter" in first and "sida 1 av 3" in first
    assert "Person 00" in first and "Person 05" not in first and "Annan roll" not in first
    assert "page=2&amp;q=handl" in first or "q=handl&amp;page=2" in first

    last = client.get("/plan/contacts?q=handl&page=3").get_data(as_text=True)
    assert "Person 10" in last and "Person 11" in last and "Person 09" not in last
    # Past the end shows the last page rather than an empty list.
    assert "Person 11" in client.get("/plan/contacts?q=handl&page=99").get_data(as_text=True)


def test_viewer_sees_contacts_but_no_edit_buttons_and_cannot_post(client, auth, session):
    contact = factories.make_contact(session, name="Eva")
    session.commit()
    auth.login(Role.viewer)
    listing = client.get("/plan/contacts").get_data(as_text=True)
    detail = client.get(f"/plan/contacts/{contact.id}").get_data(as_text=True)
    for page in (listing, detail):
        assert "Eva" in page
        assert "/plan/contacts/new" not in page
        assert f"/plan/contacts/{contact.id}/edit" not in page
        assert f"/plan/contacts/{contact.id}/delete" not in page
    assert client.post("/plan/contacts/new", data={"name": "X", "email": "x@example.org"}).status_code == 403
    assert client.post(f"/plan/contacts/{contact.id}/delete").status_code == 403
    assert _count(session) == 1


def test_anonymous_is_sent_to_login(client, session):
    contact = factories.make_contact(session)
    session.commit()
    for url in ("/plan/contacts", f"/plan/contacts/{contact.id}", "/plan/contacts/new"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


def test_contact_page_links_to_subscriptions_and_offers_a_calendar_feed(client, auth, session):
    from tests import factories

    auth.login("coordinator")
    contact = factories.make_contact(session, name="Kim Exempel")
    session.commit()
    page = client.get(f"/plan/contacts/{contact.id}").get_data(as_text=True)
    assert f"/subscriptions?contact={contact.id}" in page
    assert "webcal://" in page and "/feeds/contact/" in page
