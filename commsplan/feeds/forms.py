"""Forms of the calendar-feed pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SearchField
from wtforms.validators import Length, Optional

from commsplan.forms import BaseForm


class FeedContactSearchForm(BaseForm):
    """The contact search of the subscriptions page: in the query string, no CSRF token."""

    class Meta:
        csrf = False

    q = SearchField(_l("Sök kontakt (namn, e-post eller roll)"), validators=[Optional(), Length(max=200)])
