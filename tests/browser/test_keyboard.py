"""From log-in to a published notice with the keyboard only (Tab, Shift+Tab, Enter, Space
and typing), and every element that takes focus on the way shows a visible outline."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from commsplan.auth.models import Role
from commsplan.extensions import db
from commsplan.notices.models import Notice, NoticeStatus
from tests import factories
from tests.browser.conftest import make_account

FOCUSED = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const label = el.labels && el.labels.length ? el.labels[0].innerText : '';
  return {
    tag: el.tagName.toLowerCase(), text: (el.innerText || el.value || '').trim(), label: label.trim(),
    outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
  };
}"""


def tab_to(page: Any, matches: Any, most: int = 120) -> dict[str, Any]:
    """Press Tab until the focused element ``matches``; each stop must show its focus."""
    for _ in range(most):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        assert focused["outline"], f"no visible focus on {focused}"
        if matches(focused):
            return focused
    raise AssertionError("never reached by Tab")


def follow(page: Any, key: str = "Enter") -> None:
    """Activate the focused link or button with ``key`` and wait for the next page."""
    with page.expect_navigation():
        page.keyboard.press(key)


def labelled(text: str) -> Any:
    return lambda f: f["label"].startswith(text)


def named(pattern: str) -> Any:
    return lambda f: f["tag"] in {"a", "button"} and re.match(pattern, f["text"]) is not None


def test_keyboard_only_from_log_in_to_a_published_notice(app, live_url, page):
    email = make_account(Role.coordinator, "tangent@example.org")
    page.goto(f"{live_url}/login")
    tab_to(page, labelled("E-postadress"))
    page.keyboard.type(email)
    tab_to(page, labelled("Lösenord"))
    page.keyboard.type(factories.PASSWORD)
    tab_to(page, named("Logga in"))
    follow(page)

    tab_to(page, named("Meddelanden|Driftstörningar"))
    follow(page)
    tab_to(page, named("Ny driftstörning"))
    follow(page)
    tab_to(page, labelled("Rubrik"))
    page.keyboard.type("Tangentbordet når hela vägen")
    tab_to(page, lambda f: f["tag"] == "input" and f["label"] == "Journalen")
    page.keyboard.press("Space")
    tab_to(page, labelled("Start"))
    page.keyboard.type("01122026")
    page.keyboard.press("ArrowRight")
    page.keyboard.type("0830")
    tab_to(page, labelled("Allvarlighetsgrad"))
    page.keyboard.type("H")  # type-ahead in a closed <select>: "Hög"
    tab_to(page, named("Spara utkast"))
    follow(page)
    tab_to(page, named("Mottagare och publicering"))
    follow(page)
    tab_to(page, named("Granska och publicera"))
    follow(page)
    tab_to(page, named("Ja, publicera"))
    follow(page, "Space")

    notice = db.session.scalars(select(Notice).where(Notice.title == "Tangentbordet når hela vägen")).one()
    assert notice.status == NoticeStatus.published, page.locator("main").inner_text()
    assert [s.name for s in notice.services] == ["Journalen"]
