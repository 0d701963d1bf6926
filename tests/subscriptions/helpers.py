"""Helpers for subscription tests: read links out of delivered mail."""

from __future__ import annotations

import re
from email.message import EmailMessage

BASE = "https://commsplan.example.org"


def deliver(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["commsplan", "deliver"])
    assert result.exit_code == 0, result.output


def link(mail: EmailMessage, path: str) -> str:
    """The first link to ``path`` in the plain-text part, as a local path."""
    text = mail.get_body(("plain",)).get_content()
    match = re.search(re.escape(BASE + path) + r"[^\s]+", text)
    assert match, text
    return match.group(0).removeprefix(BASE)


def one_click_path(mail: EmailMessage) -> str:
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    return mail["List-Unsubscribe"].strip("<>").removeprefix(BASE)
