"""The header groups its links by task, each group labelled, and shows only what the role may open."""

from __future__ import annotations

import enum
import re
from html.parser import HTMLParser

from commsplan.auth.models import Role


def _groups(html: str) -> dict[str, list[str]]:
    groups = {}
    for label, body in re.findall(
        r'<span class="nav-group-label" id="nav-\w+">([^<]+)</span>\s*<ul[^>]*>(.*?)</ul>', html, re.S
    ):
        groups[label] = re.findall(r"<a [^>]*>([^<]+)</a>", body)
    return groups


def test_admin_sees_four_task_groups_in_order(client, auth):
    auth.login(Role.admin)
    html = client.get("/activities/").get_data(as_text=True)
    groups = _groups(html)
    assert list(groups) == ["Dagligt arbete", "Planen", "Uppföljning", "Administration"]
    assert groups["Dagligt arbete"] == [
        "Start",
        "Meddelanden",
        "Nationell information",
        "Aktiviteter",
        "Kalender",
        "Möten",
    ]
    assert "Möten" in groups["Dagligt arbete"]
    assert groups["Uppföljning"] == [
        "Täckning",
        "Utskick",
        "Adresser med problem",
        "Prenumerationer",
        "Driftstatus",
    ]
    assert "Vem får vad" in groups["Planen"]
    assert {"Konton", "API-tokens", "Checklistor", "Historik"} <= set(groups["Administration"])
    assert '<a href="/activities/" aria-current="page">Aktiviteter</a>' in html


def test_viewer_gets_no_account_administration(client, auth):
    auth.login(Role.viewer)
    groups = _groups(client.get("/").get_data(as_text=True))
    assert "Konton" not in groups["Administration"] and "Historik" not in groups["Administration"]
    assert "Start" in groups["Dagligt arbete"]


def test_activity_pages_are_available_in_english(client, auth, runner):
    assert runner.invoke(args=["commsplan", "demo"]).exit_code == 0
    auth.login(Role.admin)
    client.post("/language/en", data={"next": "/"})
    start = client.get("/").get_data(as_text=True)
    assert "What needs attention" in start and "Daily work" in start
    assert "Activities" in client.get("/activities/").get_data(as_text=True)
    detail = client.get("/activities/1").get_data(as_text=True)
    assert "The checklist is not complete" in detail
    assert "Communication calendar" in client.get("/activities/calendar").get_data(as_text=True)
    assert "Coverage" in client.get("/activities/coverage").get_data(as_text=True)
    assert "Publishing gate" in client.get("/activities/templates").get_data(as_text=True)
    assert "Search the history" in client.get("/admin/history/").get_data(as_text=True)


class _Texts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if text:
            self.texts.append(text)


def _enum_values(base: type[enum.Enum] = enum.Enum) -> set[str]:
    values = set()
    for sub in base.__subclasses__():
        if sub.__module__.startswith("commsplan"):
            values |= {str(member.value) for member in sub}
        values |= _enum_values(sub)
    return values


def test_new_pages_show_no_stored_codes_in_either_language(client, auth, runner):
    assert runner.invoke(args=["commsplan", "demo"]).exit_code == 0
    auth.login(Role.admin)
    codes = _enum_values()
    urls = ["/", "/activities/", "/activities/1", "/activities/1/edit", "/activities/templates"]
    urls += [
        "/activities/calendar",
        "/activities/calendar?view=list",
        "/activities/coverage",
        "/admin/history/",
    ]
    for language in ("sv", "en"):
        client.post(f"/language/{language}", data={"next": "/"})
        for url in urls:
            parser = _Texts()
            parser.feed(client.get(url).get_data(as_text=True))
            assert [t for t in parser.texts if t in codes] == [], (language, url)
