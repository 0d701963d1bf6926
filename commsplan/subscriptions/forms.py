from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.validators import DataRequired


class SubscriptionForm(FlaskForm):
    contact = SelectField(_l("Kontakt"), coerce=int, validators=[DataRequired()])
    target = SelectField(_l("Prenumererar på"), validators=[DataRequired()])
