from __future__ import annotations

import pytest

from commsplan.redirects import local_path


@pytest.mark.parametrize("target", ["/plan", "/plan/contacts?q=a&page=2", "/feeds/"])
def test_paths_on_this_site_are_followed(target):
    assert local_path(target, "/") == target


@pytest.mark.parametrize(
    "target", [None, "", "plan", "//evil.example.com/x", "/\\evil.example.com", "https://evil.example.com/"]
)
def test_anything_else_goes_to_the_default(target):
    assert local_path(target, "/start") == "/start"


def test_language_switch_does_not_redirect_off_site(client):
    response = client.post("/language/en", data={"next": "/\\evil.example.com"})
    assert response.status_code == 302
    assert "evil" not in response.headers["Location"]
