"""Reads the shared delete confirmation page back into data, with the stdlib HTML parser."""

from __future__ import annotations

from html.parser import HTMLParser


class _ImpactParser(HTMLParser):
    """Collects each ``<h3>`` kind heading with the texts and links of the list below it,
    and the items of the meeting section; only inside ``<main>`` (the footer has lists too)."""

    def __init__(self) -> None:
        super().__init__()
        self.kinds: dict[str, list[tuple[str, str | None]]] = {}
        self._current: str | None = None
        self._tag: str | None = None
        self._text: list[str] = []
        self._href: str | None = None
        self._in_main = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "main":
            self._in_main = True
        elif not self._in_main:
            return
        if tag in ("h3", "li"):
            self._tag, self._text, self._href = tag, [], None
        elif tag == "a" and self._tag == "li" and self._href is None:
            self._href = dict(attrs).get("href")

    def handle_data(self, data: str) -> None:
        if self._tag is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "main":
            self._in_main = False
        if tag != self._tag:
            return
        text = " ".join("".join(self._text).split())
        if tag == "h3":
            self._current = text
            self.kinds[text] = []
        elif self._current is not None:
            self.kinds[self._current].append((text, self._href))
        self._tag = None


def affected(html: str) -> dict[str, list[str]]:
    """``{"Rader i ansvarstabellen (1)": ["Journalen × RGS"], …}`` from a delete page."""
    parser = _ImpactParser()
    parser.feed(html)
    return {kind: [text for text, _href in items] for kind, items in parser.kinds.items()}


def links(html: str) -> dict[str, list[str | None]]:
    """The same, with each item's link instead of its text."""
    parser = _ImpactParser()
    parser.feed(html)
    return {kind: [href for _text, href in items] for kind, items in parser.kinds.items()}
