"""The admin's form for a required public page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from commsplan.forms import BaseForm

MAX_BODY = 50_000


class PublicPageForm(BaseForm):
    title_sv = StringField(
        _l("Rubrik (svenska)"), validators=[DataRequired(_l("Ange en rubrik.")), Length(max=200)]
    )
    body_sv = TextAreaField(
        _l("Text (svenska, Markdown)"),
        validators=[DataRequired(_l("Skriv sidans text.")), Length(max=MAX_BODY)],
    )
    title_en = StringField(_l("Rubrik (engelska)"), validators=[Optional(), Length(max=200)])
    body_en = TextAreaField(_l("Text (engelska, Markdown)"), validators=[Optional(), Length(max=MAX_BODY)])
