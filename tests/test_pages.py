"""Every page a signed-in coordinator can open renders, in Swedish, with accessible forms
and only assets served by the app itself."""

from __future__ import annotations

import enum
import re
from datetime import date, time
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select

import commsplan
from commsplan.auth.models import Role
from commsplan.delivery.services import drain
from commsplan.meetings import services as meeting_services
from commsplan.meetings.demo import AGENDA_1177
from commsplan.notices import services as notice_services
from commsplan.notices.models import NoticeKind
from commsplan.plan.models import Contact, Service
from commsplan.subscriptions import services as subscription_services
from tests.notices.helpers import make_notice

ENGLISH_PO = Path(commsplan.__file__).parent / "translations" / "en" / "LC_MESSAGES" / "messages.po"
# Text in these elements is code or data the user typed, not interface text.
VERBATIM = {"code", "pre", "kbd", "samp", "script", "style", "textarea"}


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
        self.texts: list[str] = []
        self._in_body = False
        self._verbatim_depth = 0
        self._foreign: list[str] = []  # open elements in another language (lang="…")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "body":
            self._in_body = True
        elif tag in VERBATIM:
            self._verbatim_depth += 1
        if self._in_body and a.get("lang") and a.get("lang") != self.html_lang:
            self._foreign.append(tag)
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
        elif tag in VERBATIM:
            self._verbatim_depth = max(0, self._verbatim_depth - 1)
        if self._foreign and self._foreign[-1] == tag:
            self._foreign.pop()

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if text and self._in_body and not self._verbatim_depth and not self._foreign:
            self.texts.append(text)

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


def _enum_classes(base: type[enum.Enum] = enum.Enum):  # type: ignore[no-untyped-def]
    for sub in base.__subclasses__():
        if sub.__module__.startswith("commsplan."):
            yield sub
        yield from _enum_classes(sub)


def raw_enum_values() -> dict[str, str]:
    """Every value of our enums (NoticeKind, OutboxState, MessageKind …) → where it comes from."""
    return {str(member.value): f"{cls.__name__}.{member.name}" for cls in _enum_classes() for member in cls}


@cache
def _english_catalogue() -> dict[str, str]:
    """Swedish msgid → English text, for the entries where the two differ."""
    with ENGLISH_PO.open("rb") as handle:
        catalogue = read_po(handle)
    pairs = {}
    for message in catalogue:
        if not message.id or isinstance(message.id, tuple) or "%(" in message.id:
            continue
        if message.string and message.string != message.id:
            pairs[" ".join(message.id.split())] = message.string
    return pairs


# What the coordinator typed is shown as written: the demo agenda's "Paus" and "Alla" are
# content, even though the same words are also catalogue entries.
DEMO_CONTENT = {text for item in AGENDA_1177 for text in (item.title, item.presenter)}


def untranslated_texts(page: PageAudit) -> list[str]:
    """Text nodes that are a Swedish catalogue entry shown as such on an English page."""
    swedish = _english_catalogue()
    return [text for text in page.texts if text in swedish and text not in DEMO_CONTENT]


def raw_codes(page: PageAudit) -> list[str]:
    values = raw_enum_values()
    return [f"{text} ({values[text]})" for text in page.texts if text in values]


def simple_get_urls(app) -> list[str]:
    """Every GET route without URL parameters, except feeds/exports that are not HTML."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or set()) or rule.arguments or rule.endpoint == "static":
            continue
        urls.append(rule.rule)
    return sorted(urls)


@pytest.fixture
def demo_loaded(runner, session):
    """The demo plan, plus notices in each state so notice and delivery pages are crawled."""
    result = runner.invoke(args=["commsplan", "demo"])
    assert result.exit_code == 0, result.output
    services_ids = list(session.scalars(select(Service.id).order_by(Service.id).limit(2)))
    make_notice(session, NoticeKind.outage, title="Utkast om Journalen", service_ids=services_ids)
    for kind in (NoticeKind.outage, NoticeKind.service_window, NoticeKind.release):
        published = make_notice(session, kind, service_ids=services_ids)
        notice_services.publish(session, published, None)
    session.commit()


NOT_PAGES = (".md", ".ics", ".atom", ".csv", ".json", "/logout", "/static/", "/api/", "/readyz", "/metrics")


def crawl(app, client, check) -> int:  # type: ignore[no-untyped-def]
    """Open every page reachable from the start page and the parameterless routes; ``check``
    each HTML page. Returns how many pages were checked."""
    queue = ["/", *simple_get_urls(app)]
    seen: set[str] = set()
    checked = 0
    while queue and len(seen) < 600:
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
        check(url, page)
        checked += 1
    return checked


def test_every_reachable_page_renders_accessibly_in_swedish(app, client, auth, demo_loaded):
    """Crawl from the start page and every parameterless route, as an admin, after the demo."""
    auth.login(Role.admin)

    def check(url: str, page: PageAudit) -> None:
        assert page.html_lang == "sv", url
        assert page.h1_count == 1, (url, page.h1_count)
        assert page.unlabelled() == [], (url, page.unlabelled())
        assert page.external_assets == [], (url, page.external_assets)
        assert page.images_without_alt == 0, url
        # The DOS law and GDPR pages are linked from every page's footer.
        assert {"/accessibility", "/privacy"} <= set(page.links), url
        seen.append(url)
        if found := raw_codes(page):
            problems.append((url, found))

    problems: list[tuple[str, list[str]]] = []
    seen: list[str] = []
    assert crawl(app, client, check) >= 30
    assert problems == [], "\n".join(map(str, problems))
    # Pages that mail links to, reached from the coordinator's pages.
    assert any(url.startswith("/meetings/public/") for url in seen), "public occurrence page"


def test_every_reachable_page_in_english_shows_no_swedish_interface_text_or_codes(
    app, client, auth, demo_loaded
):
    client.post("/language/en", data={"next": "/"})
    auth.login(Role.admin)

    problems: list[tuple[str, list[str]]] = []

    def check(url: str, page: PageAudit) -> None:
        assert page.html_lang == "en", url
        if found := untranslated_texts(page) + raw_codes(page):
            problems.append((url, found))

    assert crawl(app, client, check) >= 30
    assert problems == [], "\n".join(map(str, problems))


def test_english_can_be_chosen(client, auth):
    auth.login(Role.viewer)
    client.post("/language/en", data={"next": "/"})
    page = client.get("/").get_data(as_text=True)
    assert audit(page).html_lang == "en"
    assert "Log out" in page
    client.post("/language/sv", data={"next": "/"})
    assert "Logga ut" in client.get("/").get_data(as_text=True)


def test_archive_and_retired_pages_render_accessibly(app, client, auth, demo_loaded, session):
    """The crawl above never meets a retired row: retire one and audit its pages."""
    service = session.scalar(select(Service).where(Service.name == "Journalen"))
    data = notice_services.NoticeData(kind=NoticeKind.general, title="Journalen", service_ids=[service.id])
    notice = notice_services.create_draft(session, data, None)
    notice_services.publish(session, notice, None)
    session.commit()
    auth.login(Role.admin)
    assert client.post(f"/plan/services/{service.id}/delete").status_code == 409  # ongoing notice
    notice_services.close(session, notice, None)
    session.commit()
    assert "Ja, arkivera" in client.get(f"/plan/services/{service.id}/delete").get_data(as_text=True)
    assert client.post(f"/plan/services/{service.id}/delete").status_code == 302
    for url in ("/plan/services", "/plan/services?archived=1", f"/plan/services/{service.id}"):
        response = client.get(url)
        assert response.status_code == 200, url
        page = audit(response.get_data(as_text=True))
        assert page.html_lang == "sv" and page.h1_count == 1, url
        assert page.unlabelled() == [] and page.external_assets == [], url


def test_subscription_pages_without_log_in_render_accessibly(app, client, auth, session, demo_loaded):
    """The public sign-up and the token pages reached from mail, and the coordinators'
    pages behind them (preview, opt-outs and role requests)."""
    contact = session.scalars(
        select(Contact).where(Contact.unit_id.is_not(None)).order_by(Contact.id)
    ).first()
    subscription_services.set_subscriptions(
        session,
        contact,
        subscription_services.Choices((), (NoticeKind.outage,), subscription_services.Frequency.daily),
    )
    subscription_services.request_role_change(
        session, contact, subscription_services.role_reasons(session, contact)
    )
    session.commit()
    with app.test_request_context():
        preferences = subscription_services.preferences_url(contact.id).removeprefix(app.config["BASE_URL"])
        one_click = subscription_services.one_click_links()(contact.id, "daily").removeprefix(
            app.config["BASE_URL"]
        )
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


def test_sign_up_confirmation_pages_render_accessibly(app, client, session, outbox):
    """The pages an unknown address passes through (the crawl never holds its token)."""
    from_mail = []
    series = meeting_services.create_series(
        session,
        meeting_services.SeriesData(
            title="Agenda 1177", start_time=time(9, 0), starts_on=date.today(), rrule="FREQ=MONTHLY",
            registration_open=True,
        ),
    )  # fmt: skip
    session.commit()
    occ = meeting_services.upcoming(series)[0]
    for language in ("sv", "en"):
        client.post(f"/language/{language}", data={"next": "/"})
        outbox.clear()
        address = f"new-{language}@example.org"
        done = client.post(f"/meetings/register/{occ.id}", data={"name": "N", "email": address})
        drain(app, connections=1)
        path = re.search(
            r"/meetings/register/confirm/\S+", outbox.to(address)[0].get_body(("plain",)).get_content()
        )
        from_mail.append(path.group(0))
        pages = [done, client.get(from_mail[-1]), client.post(from_mail[-1]), client.get(from_mail[-1])]
        assert [page.status_code for page in pages] == [200, 200, 200, 404]
        for response in pages:
            page = audit(response.get_data(as_text=True))
            assert page.html_lang == language and page.h1_count == 1
            assert page.unlabelled() == [] and page.external_assets == []
            if language == "en":
                assert untranslated_texts(page) == []
