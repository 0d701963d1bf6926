"""Forms shared by several features."""

from __future__ import annotations

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
