"""The accessibility statement and the privacy notice: public, in both languages, linked
from every page, and editable by admins only."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import func, select

from commsplan.auth.models import Role
from commsplan.pages.models import PublicPage
from tests.test_pages import audit


def _text(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(response.get_data(as_text=True))


def test_accessibility_statement_is_public_and_says_what_the_dos_law_requires(client):
    response = client.get("/accessibility")
    assert response.status_code == 200
    page = _text(response)
    assert audit(page).html_lang == "sv"
    assert "<h1>Tillgänglighetsredogörelse för commsplan</h1>" in page
    assert "delvis förenlig" in page  # compliance status
    assert "WCAG 2.1 nivå AA" in page and "EN 301 549" in page
    assert "Innehåll som inte är tillgängligt" in page  # known gaps
    assert 'href="mailto:invanartjanster@example.org"' in page  # how to report a problem
    assert "Myndigheten för digital förvaltning (Digg)" in page  # enforcement body
    assert 'href="https://www.digg.se/tdosanmalan"' in page
    # What Digg's "Skapa en tillgänglighetsredogörelse" also asks for: the reasons, the
    # date of the assessment and its method, and what the law does not cover (9 §, 12 §).
    assert "eftersom" in page and "Den senaste bedömningen gjordes" in page and "självskattning" in page
    assert "Innehåll som inte omfattas av lagkraven" in page and "oskäligt betungande" in page


def test_privacy_page_is_public_and_covers_the_gdpr_information(client):
    response = client.get("/privacy")
    assert response.status_code == 200
    page = _text(response)
    for heading in (
        "Personuppgiftsansvarig",
        "Varför vi behandlar uppgifterna (ändamål)",
        "Vilka uppgifter vi behandlar (kategorier)",
        "Vem som får ta del av uppgifterna (mottagare)",
        "Hur länge vi sparar uppgifterna",
        "Dina rättigheter",
    ):
        assert f"<h2>{heading}</h2>" in page, heading
    assert "Regionen är personuppgiftsansvarig." in page


def test_the_controller_is_the_region_of_the_loaded_plan(client, runner):
    assert runner.invoke(args=["commsplan", "demo"]).exit_code == 0
    assert "Region Uppsala är personuppgiftsansvarig." in _text(client.get("/privacy"))


@pytest.mark.parametrize(
    ("path", "title"),
    [
        ("/accessibility", "Accessibility statement for commsplan"),
        ("/privacy", "How we process personal data"),
    ],
)
def test_both_pages_exist_in_english(client, path, title):
    client.post("/language/en", data={"next": "/"})
    page = _text(client.get(path))
    assert audit(page).html_lang == "en"
    assert title in page
    assert "Agency for Digital Government" in page or "controller" in page


def test_every_page_links_both_in_the_footer(client, auth):
    for url in ("/login", "/status", "/accessibility"):
        links = audit(client.get(url).get_data(as_text=True)).links
        assert "/accessibility" in links and "/privacy" in links, url
    auth.login(Role.viewer)
    links = audit(client.get("/").get_data(as_text=True)).links
    assert "/accessibility" in links and "/privacy" in links


def test_admin_edits_are_stored_sanitised_and_shown(client, auth, session):
    auth.login(Role.admin)
    form = client.get("/pages/accessibility/edit")
    assert form.status_code == 200
    assert "Myndigheten för digital förvaltning" in _text(form)  # starts from the default text
    response = client.post(
        "/pages/accessibility/edit",
        data={
            "title_sv": "Tillgänglighet",
            "body_sv": "## Status\n\nHelt förenlig.<script>alert(1)</script>",
            "title_en": "",
            "body_en": "",
        },
    )
    assert response.status_code == 302
    row = session.scalars(select(PublicPage)).one()
    assert row.updated_by == "admin@example.org"
    page = _text(client.get("/accessibility"))
    assert "<h1>Tillgänglighet</h1>" in page and "<h2>Status</h2>" in page
    assert "<script>" not in page
    assert "Senast ändrad" in page
    client.post("/language/en", data={"next": "/"})
    assert "Accessibility statement for commsplan" in _text(client.get("/accessibility"))  # English default


def test_invalid_edit_is_400_in_swedish_and_stores_nothing(client, auth, session):
    auth.login(Role.admin)
    response = client.post("/pages/privacy/edit", data={"title_sv": "", "body_sv": ""})
    assert response.status_code == 400
    assert "Ange en rubrik." in _text(response)
    assert session.scalar(select(func.count()).select_from(PublicPage)) == 0


@pytest.mark.parametrize("role", [Role.viewer, Role.coordinator])
def test_only_admins_may_edit(client, auth, session, role):
    auth.login(role)
    assert client.get("/pages/privacy/edit").status_code == 403
    assert client.post("/pages/privacy/edit", data={"title_sv": "X", "body_sv": "Y"}).status_code == 403
    assert "Redigera sidan" not in _text(client.get("/privacy"))
    assert session.scalar(select(func.count()).select_from(PublicPage)) == 0


def test_unknown_page_kind_is_404(client, auth):
    auth.login(Role.admin)
    assert client.get("/pages/cookies/edit").status_code == 404
