"""Links in mail as a person without an account follows them."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import vobject

BASE = "https://commsplan.example.org"


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def mail_links(mail) -> set[str]:  # type: ignore[no-untyped-def]
    """Every link to the app in a mail: HTML hrefs, URLs in the text and in the .ics."""
    found: set[str] = set()
    parser = _Links()
    parser.feed(mail.get_body(("html",)).get_content())
    found.update(parser.hrefs)
    found.update(re.findall(r"https?://\S+", mail.get_body(("plain",)).get_content()))
    for part in mail.walk():
        if part.get_content_type() == "text/calendar":
            for component in vobject.readComponents(part.get_content()):
                for event in component.vevent_list:
                    if hasattr(event, "url"):
                        found.add(event.url.value)
    return {link for link in found if link.startswith(BASE)}


def assert_links_work_anonymously(app, mail) -> int:  # type: ignore[no-untyped-def]
    """Fetch every app link of ``mail`` without logging in: each answers 200, and a link
    from English mail that names the language opens the page in English."""
    anonymous = app.test_client()
    english = '<html lang="en">' in mail.get_body(("html",)).get_content()
    links = mail_links(mail)
    for link in links:
        response = anonymous.get(link.removeprefix(BASE))
        assert response.status_code == 200, (link, response.status_code, response.headers.get("Location"))
        if "lang=en" in link and response.mimetype == "text/html":
            assert '<html lang="en">' in response.get_data(as_text=True), link
    if english:
        assert any("lang=en" in link for link in links), links
    return len(links)
