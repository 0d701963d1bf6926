"""Viewers are never offered a form they cannot send: form pages answer 403 before any typing,
and the pages they can read show no links to such pages and no buttons that post."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Rule
from werkzeug.routing.converters import AnyConverter

from commsplan.auth.guard import SAFE_METHODS, required_role_for
from commsplan.auth.models import Role
from tests.test_pages import NOT_PAGES, audit, demo_loaded, simple_get_urls  # noqa: F401 – fixture


def _sample_arguments(rule: Rule) -> dict[str, object]:
    values: dict[str, object] = {}
    for name, converter in rule._converters.items():
        if isinstance(converter, AnyConverter):
            values[name] = sorted(converter.items)[0]
        elif converter.regex == r"\d+":
            values[name] = 1
        else:
            values[name] = "x"
    return values


def _form_page_rules(app) -> list[Rule]:
    """GET rules that also change state, for signed-in users (not public, not readable lists)."""
    rules = []
    for rule in app.url_map.iter_rules():
        methods = rule.methods or set()
        if "GET" not in methods or not methods - SAFE_METHODS:
            continue
        view = app.view_functions[rule.endpoint]
        if rule.endpoint.startswith("api.") or required_role_for(view, "GET") is None:
            continue
        if getattr(view, "_commsplan_readable", False):
            continue
        if Role.viewer.allows(required_role_for(view, "POST") or Role.viewer):
            continue  # e.g. your own API tokens: viewers may send that form
        rules.append(rule)
    return rules


def test_every_form_page_answers_403_to_a_viewer_before_showing_the_form(app, client, auth):
    auth.login(Role.viewer)
    rules = _form_page_rules(app)
    assert len(rules) >= 40, [r.rule for r in rules]
    refused = []
    with app.test_request_context():
        urls = [(rule.endpoint, app.url_for(rule.endpoint, **_sample_arguments(rule))) for rule in rules]
    for endpoint, url in urls:
        response = client.get(url)
        html = response.get_data(as_text=True)
        if (
            response.status_code != 403
            or "<textarea" in html
            or 'type="submit"' in html.split("<main", 1)[-1]
        ):
            refused.append((endpoint, url, response.status_code))
    assert refused == []


def test_the_403_says_why_in_swedish(client, auth):
    auth.login(Role.viewer)
    response = client.get("/notices/new")
    assert response.status_code == 403
    assert "får läsa men inte ändra" in response.get_data(as_text=True)


def test_a_coordinator_still_gets_the_form(client, auth):
    auth.login(Role.coordinator)
    assert client.get("/notices/new").status_code == 200
    assert client.get("/meetings/new").status_code == 200


class PostForms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.actions: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "get").lower() == "post":
            self.actions.append(a.get("action") or "")


@pytest.mark.usefixtures("demo_loaded")
def test_a_viewer_crawl_finds_no_links_to_forbidden_pages_and_no_buttons_that_post(app, client, auth):
    auth.login(Role.viewer)
    adapter = app.url_map.bind("localhost")
    queue = [("/", "start"), *((u, "url map") for u in simple_get_urls(app))]
    seen: set[str] = set()
    problems: list[tuple[str, str, object]] = []
    while queue and len(seen) < 400:
        url, referrer = queue.pop(0)
        if url in seen or any(marker in url for marker in NOT_PAGES):
            continue
        seen.add(url)
        response = client.get(url)
        if response.status_code == 403:
            if referrer != "url map":  # a page linked to it
                problems.append(("link to a 403", url, referrer))
            continue
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        html = response.get_data(as_text=True)
        queue.extend((link, url) for link in audit(html).links if link not in seen)
        forms = PostForms()
        forms.feed(html)
        for action in forms.actions:
            path = action.split("?")[0] or url.split("?")[0]
            try:
                endpoint, _args = adapter.match(path, method="POST")
            except (NotFound, MethodNotAllowed):
                problems.append(("form to nowhere", url, action))
                continue
            required = required_role_for(app.view_functions[endpoint], "POST")
            if required is not None and not Role.viewer.allows(required):
                problems.append(("button that posts", url, action))
    assert problems == [], "\n".join(map(str, problems))
    assert len(seen) >= 30, len(seen)
