"""Translation helpers shared by the pages."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from flask_babel import get_translations
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

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


def template_translations() -> dict[str, object]:
    """``_``, ``gettext`` and ``ngettext`` for one rendering, bound to the catalogue of its
    locale (a context processor: context variables win over Jinja's globals).

    Flask-Babel's template functions look the locale and catalogue up again on every
    call, about 50 µs each, and a page with 500 texts spent 25 ms on that alone. These
    behave as Jinja's "newstyle" gettext does (autoescaping, ``%`` formatting of the
    keyword arguments, ``num`` for plurals); a macro imported without context still uses
    Flask-Babel's, with the same result."""
    translations = get_translations()
    gettext = _newstyle_gettext(translations.ugettext)
    return {"_": gettext, "gettext": gettext, "ngettext": _newstyle_ngettext(translations.ungettext)}


def _newstyle_gettext(translate: Callable[[str], str]) -> Callable[..., str]:
    @pass_context
    def gettext(__context: Context, __string: str, **variables: Any) -> str:
        text = translate(__string)
        if __context.eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704 - our own catalogue, as in Jinja's i18n extension
        return text % variables

    return gettext


def _newstyle_ngettext(translate: Callable[[str, str, int], str]) -> Callable[..., str]:
    @pass_context
    def ngettext(__context: Context, __singular: str, __plural: str, __num: int, **variables: Any) -> str:
        variables.setdefault("num", __num)
        text = translate(__singular, __plural, __num)
        if __context.eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704 - our own catalogue, as in Jinja's i18n extension
        return text % variables

    return ngettext
