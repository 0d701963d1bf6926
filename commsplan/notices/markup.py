"""Markdown for notice bodies: rendered with ``markdown``, then sanitised with ``nh3``."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import markdown as md
import nh3
from markupsafe import Markup

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "ul", "ol", "li", "a", "h2", "h3", "h4", "blockquote",
    "code", "pre", "hr", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip


def render_markdown(text: str) -> Markup:
    html = md.markdown(text or "", extensions=["sane_lists", "tables"], output_format="html")
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}, "th": {"scope"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )
    return Markup(clean)  # noqa: S704 - sanitised by nh3 just above


_BLOCKS = {"p", "ul", "ol", "h2", "h3", "h4", "blockquote", "pre", "table", "tr", "hr"}


class _PlainText(HTMLParser):
    """Rendered Markdown to the text a calendar shows: paragraphs, "- " list items,
    numbered items, and links as "text (address)"."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.lists: list[list[int]] = []  # per open list: [is ordered, next number]
        self.href: str | None = None
        self.link_text: list[str] = []

    def _newline(self) -> None:
        if self.out and not self.out[-1].endswith("\n"):
            self.out.append("\n")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"ul", "ol"}:
            self._newline()
            self.lists.append([tag == "ol", 1])
        elif tag == "li":
            self._newline()
            if self.lists and self.lists[-1][0]:
                self.out.append(f"{self.lists[-1][1]}. ")
                self.lists[-1][1] += 1
            else:
                self.out.append("- ")
        elif tag == "br":
            self.out.append("\n")
        elif tag == "a":
            self.href = dict(attrs).get("href") or None
            self.link_text = []
        elif tag in _BLOCKS or tag in {"td", "th"}:
            if tag in {"td", "th"}:
                self.out.append(" ")
            else:
                self._newline()

    def handle_endtag(self, tag: str) -> None:
        if tag in {"ul", "ol"} and self.lists:
            self.lists.pop()
            self._newline()
        elif tag == "a":
            shown = "".join(self.link_text)
            if self.href and self.href != shown.strip():
                self.out.append(f" ({self.href})")
            self.href = None
        elif tag in _BLOCKS:
            self._newline()
            if tag == "p" and not self.lists:
                self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if self.href is not None:
            self.link_text.append(data)
        self.out.append(data)

    def text(self) -> str:
        lines = [line.rstrip() for line in "".join(self.out).split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def markdown_to_text(text: str) -> str:
    """Markdown as plain text (no ``**``, no tags) for calendar descriptions."""
    if not (text or "").strip():
        return ""
    parser = _PlainText()
    parser.feed(str(render_markdown(text)))
    parser.close()
    return parser.text()
