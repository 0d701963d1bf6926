"""Every page a signed-in coordinator can open renders, in Swedish, with accessible forms
and only assets served by the app itself."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from commsplan.auth.models import Role
from commsplan.notices.models import NoticeKind
from commsplan.plan.models import Contact
from commsplan.subscriptions import services


class PageAudit(HTMLParser):
    """Collects the few facts we check on every page."""

    def __init__(self) -> None:
        super().__init__()
        self.html_lang: str | None = None
        self.h1_count = 0
        self.label_for: set[str] = set()
        self.labelled_inputs: list[tuple[str, dict[str, str | None]]] = []
        self.external_assets: list[str] = []
        self.images_without_alt = 0
        self._label_depth = 0
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.html_lang = a.get("lang")
        elif tag == "h1":
            self.h1_count += 1
        elif tag == "label":
            self._label_depth += 1
            if a.get("for"):
                self.label_for.add(a["for"] or "")
        elif tag in {"input", "select", "textarea"}:
            if a.get("type") not in {"hidden", "submit", "button", "reset"}:
                self.labelled_inputs.append((tag, a | {"_in_label": "1" if self._label_depth else None}))
        elif (
            tag == "a"
            and (a.get("href") or "").startswith("/")
            and not (a.get("href") or "").startswith("//")
        ):
            self.links.append((a.get("href") or "").split("#")[0])
        elif tag == "img" and "alt" not in a:
            self.images_without_alt += 1
        if tag in {"script", "img"} and (a.get("src") or "").startswith(("http:", "https:", "//")):
            self.external_assets.append(a["src"] or "")
        if tag == "link" and (a.get("href") or "").startswith(("http:", "https:", "//")):
            self.external_assets.append(a["href"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._label_depth = max(0, self._label_depth - 1)

    def unlabelled(self) -> list[str]:
        missing = []
        for tag, a in self.labelled_inputs:
            if a.get("_in_label") or a.get("aria-label") or a.get("aria-labelledby"):
                continue
            if a.get("id") and a["id"] in self.label_for:
                continue
            missing.append(f"<{tag} name={a.get('name')!r}>")
        return missing


def audit(html: str) -> PageAudit:
    parser = PageAudit()
    parser.feed(html)
    return parser


def simple_get_urls(app) -> list[str]:
    """Every GET route without URL parameters, except feeds/exports that are not HTML."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or set()) or rule.arguments or rule.endpoint == "static":
            continue
        urls.append(rule.rule)
    return sorted(urls)


@pytest.fixture
def demo_loaded(runner):
    result = runner.invoke(args=["commsplan", "demo"])
    assert result.exit_code == 0, result.output


NOT_PAGES = (".md", ".ics", ".atom", ".csv", ".json", "/logout", "/static/", "/api/")


def test_every_reachable_page_renders_accessibly_in_swedish(app, client, auth, demo_loaded):
    """Crawl from the start page and every parameterless route, as an admin, after the demo."""
    auth.login(Role.admin)
    queue = ["/", *simple_get_urls(app)]
    seen: set[str] = set()
    checked = 0
    while queue and len(seen) < 400:
        url = queue.pop(0)
        if url in seen or any(marker in url for marker in NOT_PAGES):
            continue
        seen.add(url)
        response = client.get(url)
        assert response.status_code in (200, 302), (url, response.status_code)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        page = audit(response.get_data(as_text=True))
        queue.extend(link for link in page.links if link not in seen)
        assert page.html_lang == "sv", url
        assert page.h1_count == 1, (url, page.h1_count)
        assert page.unlabelled() == [], (url, page.unlabelled())
        assert page.external_assets == [], (url, page.external_assets)
        assert page.images_without_alt == 0, url
        checked += 1
    assert checked >= 30, checked


def test_english_can_be_chosen(client, auth):
    auth.login(Role.viewer)
    client.post("/language/en", data={"next": "/"})
    page = client.get("/").get_data(as_text=True)
    assert audit(page).html_lang == "en"
    assert "Log out" in page
    client.post("/language/sv", data={"next": "/"})
    assert "Logga ut" in client.get("/").get_data(as_text=True)


def test_subscription_pages_without_log_in_render_accessibly(app, client, auth, session, demo_loaded):
    """The public sign-up and the token pages reached from mail, and the coordinators'
    pages behind them (preview, opt-outs and role requests)."""
    contact = session.scalars(
        select(Contact).where(Contact.unit_id.is_not(None)).order_by(Contact.id)
    ).first()
    services.set_subscriptions(
        session, contact, services.Choices((), (NoticeKind.outage,), services.Frequency.daily)
    )
    services.request_role_change(session, contact, services.role_reasons(session, contact))
    session.commit()
    with app.test_request_context():
        preferences = services.preferences_url(contact.id).removeprefix(app.config["BASE_URL"])
        one_click = services.one_click_links()(contact.id, "daily").removeprefix(app.config["BASE_URL"])
    public = ["/subscribe", preferences, one_click, "/subscribe/confirm/unknown", "/preferences/bad"]
    coordinator = [
        f"/digests/preview/{contact.id}?period=daily",
        "/subscriptions/requests",
        f"/plan/contacts/{contact.id}",
    ]
    for url in public:
        response = client.get(url)
        assert response.status_code in (200, 404), url
        page = audit(response.get_data(as_text=True))
        assert page.html_lang == "sv" and page.h1_count == 1, url
        assert page.unlabelled() == [] and page.external_assets == [], (url, page.unlabelled())
    auth.login(Role.coordinator)
    for url in coordinator:
        response = client.get(url)
        assert response.status_code == 200, url
        page = audit(response.get_data(as_text=True))
        assert page.html_lang == "sv" and page.h1_count == 1, url
        assert page.unlabelled() == [], (url, page.unlabelled())
