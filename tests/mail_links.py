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
    anonymous = app.test_client()
    links = mail_links(mail)
    for link in links:
        response = anonymous.get(link.removeprefix(BASE))
        assert response.status_code == 200, (link, response.status_code, response.headers.get("Location"))
    return len(links)
