"""Marshmallow fields for the API's input, built on ``commsplan.inputs`` so the API refuses
exactly what forms and URLs refuse: NUL bytes, integers beyond the database's column,
fractions where a whole number is meant (``2.5`` is an error, not 2) and far-off dates.

Every input schema subclasses ``InputSchema`` and every field of it is one of these
(``tests/api/test_hostile_payloads.py`` checks every schema a view takes as arguments)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import marshmallow as ma
from marshmallow import ValidationError, fields, validate

from commsplan.inputs import DB_INT_MAX, WEB, InputError, clean_text, date_problem, parse_int, url_problem


class InputSchema(ma.Schema):
    """The base of every schema the API reads: an unknown key is an error, not ignored."""

    class Meta:
        unknown = ma.RAISE


class Text(fields.String):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return clean_text(text)
        except InputError as error:
            raise ValidationError(str(error)) from error


class WebAddress(Text):
    """A link (http/https, and mailto: when ``schemes`` allows it), checked exactly like
    the forms' ``commsplan.forms.WebAddress``."""

    def __init__(self, *, schemes: tuple[str, ...] = WEB, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.schemes = schemes

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if problem := url_problem(text, self.schemes):
            raise ValidationError(problem)
        return text


class WholeNumber(fields.Integer):
    """An integer in ``low``..``high`` (by default the database's ``INTEGER``), given as a
    JSON integer or, in a query string, as decimal digits."""

    def __init__(self, *, low: int = -DB_INT_MAX, high: int = DB_INT_MAX, **kwargs: Any) -> None:
        # parse_int keeps the number within the column; the Range (its message catalogued,
        # and minimum/maximum in the OpenAPI document) within what the field allows.
        given = kwargs.pop("validate", None)
        given = [] if given is None else list(given) if isinstance(given, list | tuple) else [given]
        bounds = validate.Range(
            min=low if low > -DB_INT_MAX else None, max=high if high < DB_INT_MAX else None
        )
        super().__init__(validate=[*given, bounds], **kwargs)
        self.low, self.high = low, high

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, float):
            # JSON 2.5 (or 2.0): a fraction where a whole number is meant.
            value = repr(value)
        try:
            return parse_int(value)
        except InputError as error:
            raise ValidationError(str(error)) from error


class Id(WholeNumber):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(low=1, high=DB_INT_MAX, **kwargs)


def _check_date(value: date | datetime) -> None:
    if problem := date_problem(value):
        raise ValidationError(problem)


class Date(fields.Date):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        result = super()._deserialize(value, attr, data, **kwargs)
        _check_date(result)
        return result


class AwareDateTime(fields.AwareDateTime):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        result = super()._deserialize(value, attr, data, **kwargs)
        _check_date(result)
        return result
