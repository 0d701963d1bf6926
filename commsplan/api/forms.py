"""The form on the API token page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import Length, Optional

from commsplan.forms import BaseForm


class TokenForm(BaseForm):
    name = StringField(_l("Vad ska den användas till?"), validators=[Optional(), Length(max=200)])
