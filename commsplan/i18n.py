"""Translation helpers shared by the pages."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TypeVar

K = TypeVar("K")


class TranslatedLabels(Mapping[K, str]):
    """A mapping of lazy labels that translates each one once, for one rendering.

    A lazy string translates itself anew every time it is printed, about 25 µs through
    Flask-Babel, and a list page prints the same few labels hundreds of times (200
    notices, each with a kind and a status). Context processors wrap the label tables in
    this on every rendering, so the translation follows the locale of that rendering
    (a mail rendered in English inside a Swedish request included) and nothing is kept
    between requests.
    """

    def __init__(self, labels: Mapping[K, object]) -> None:
        self._labels = labels
        self._translated: dict[K, str] = {}

    def __getitem__(self, key: K) -> str:
        try:
            return self._translated[key]
        except KeyError:
            text = self._translated[key] = str(self._labels[key])
            return text

    def __iter__(self) -> Iterator[K]:
        return iter(self._labels)

    def __len__(self) -> int:
        return len(self._labels)
