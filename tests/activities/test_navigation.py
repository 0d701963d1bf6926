"""The header groups its links by task, each group labelled, and shows only what the role may open."""

from __future__ import annotations

import re

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
    assert groups["Dagligt arbete"] == ["Start", "Meddelanden", "Aktiviteter", "Kalender", "Möten"]
    assert "Möten" in groups["Dagligt arbete"]
    assert groups["Uppföljning"] == ["Täckning", "Utskick", "Prenumerationer", "Driftstatus"]
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
