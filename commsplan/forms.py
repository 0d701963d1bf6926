"""Forms shared by several features."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.i18n import translations
from wtforms import Form


class ConfirmForm(FlaskForm):
    """A form with only its CSRF token: confirmation pages and one-click buttons."""


class SubForm(Form):
    """Base for rows inside a FieldList/FormField.

    Plain WTForms forms do not get Flask-WTF's translations, so their messages would be
    English on Swedish pages; this Meta hands them the same catalogue as FlaskForm.
    """

    class Meta:
        def get_translations(self, form: Any) -> Any:
            return translations


def error_messages(errors: object) -> list[str]:
    """Flatten WTForms errors (strings, lazy strings, lists, FieldList/FormField dicts) to texts.

    A lazily translated message is not a ``str``: templates that test ``is string`` would
    iterate it character by character, so every error summary goes through this one helper.
    """
    if errors is None:
        return []
    if isinstance(errors, Mapping):
        return [text for value in errors.values() for text in error_messages(value)]
    # Only real containers are walked: a LazyString is iterable too (letter by letter).
    if isinstance(errors, list | tuple | set):
        return [text for value in errors for text in error_messages(value)]
    text = str(errors)
    return [text] if text else []
