"""Every URL with a parameter answers 404 for a value that names nothing: no catch-all
converter turns an unknown path into an empty 200 page."""

from __future__ import annotations

import re

from commsplan.auth.models import Role

PARAMETER = re.compile(r"<(?:(?P<converter>[a-z]+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
UNKNOWN = {"int": "999999", "path": "does/not/exist"}


def _unknown_path(rule: str) -> str:
    return PARAMETER.sub(lambda m: UNKNOWN.get(m.group("converter") or "", "doesnotexist"), rule)


def test_every_parameterised_url_answers_404_for_what_does_not_exist(app, client, auth):
    auth.login(Role.admin)
    wrong = []
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.arguments or rule.endpoint == "static" or rule.rule.startswith("/api/"):
            continue
        path = _unknown_path(rule.rule)
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            response = client.open(path, method=method)
            checked += 1
            if response.status_code != 404:
                wrong.append((method, path, response.status_code))
    assert wrong == []
    assert checked >= 60, checked


def test_delivery_of_an_unknown_source_type_is_404(client, auth):
    auth.login(Role.viewer)
    assert client.get("/delivery/foo/1").status_code == 404
