"""Forms shared by several features."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, cast

from flask_wtf import FlaskForm
from flask_wtf.i18n import translations
from wtforms import Field, FieldList, Form, FormField, HiddenField
from wtforms.validators import ValidationError

from commsplan.inputs import WEB, date_problem, integer_problem, text_problem, url_problem


def _value_problem(value: object) -> str | None:
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return integer_problem(value)
    if isinstance(value, date):
        return date_problem(value)
    if isinstance(value, list | tuple):
        return next((p for p in map(_value_problem, value) if p), None)
    return None


def input_problems(fields: Iterable[Field]) -> list[tuple[Field, str]]:
    """Every field (also rows of FieldLists and FormFields) whose value the database cannot
    hold: what was sent (``raw_data``) and what it became (``data``) go through
    ``commsplan.inputs``, the same checks as URLs and the API."""
    problems: list[tuple[Field, str]] = []
    for field in fields:
        if isinstance(field, FieldList):
            problems += input_problems(field.entries)
        elif isinstance(field, FormField):
            problems += input_problems(field.form)
        else:
            raw = [value for value in (field.raw_data or []) if isinstance(value, str)]
            problem = _value_problem(raw) or _value_problem(field.data)
            if problem:
                problems.append((field, problem))
    return problems


class _InputChecks:
    """Refuses NUL bytes, out-of-range integers and dates before any other validator runs
    (some of those query the database with the value)."""

    def validate(self, extra_validators: Mapping[str, Any] | None = None) -> bool:
        problems = input_problems(cast(Iterable[Field], self))
        if not problems:
            return super().validate(extra_validators)  # type: ignore[misc]
        for field, message in problems:
            field.errors = [*field.errors, message]
        return False


class WebAddress:
    """The validator of every link field: http(s) (and mailto: where ``schemes`` says so),
    checked by ``commsplan.inputs.url_problem`` like the API's ``WebAddress`` field.
    WTForms' ``URL()`` let ``javascript://x/%0Aalert(1)`` through."""

    def __init__(self, schemes: tuple[str, ...] = WEB) -> None:
        self.schemes = schemes

    def __call__(self, form: Form, field: Field) -> None:
        # Control characters first, as the API field does: str.strip() would quietly
        # drop some of them (\x1c-\x1f count as white space).
        if problem := text_problem(field.data or ""):
            raise ValidationError(problem)
        value = (field.data or "").strip()
        field.data = value
        if problem := url_problem(value, self.schemes):
            raise ValidationError(problem)


class BaseForm(_InputChecks, FlaskForm):
    """Every form of the app: Flask-WTF (CSRF, translations) plus the input checks."""


class ConfirmForm(BaseForm):
    """A form with only its CSRF token: confirmation pages and one-click buttons."""


class AddressActionForm(BaseForm):
    """A one-click button about one address (the address in a hidden field): the address
    goes through the same input checks as every other form value."""

    email = HiddenField()
    next = HiddenField()

    @property
    def address(self) -> str:
        return (self.email.data or "").strip()


class SubForm(_InputChecks, Form):
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
