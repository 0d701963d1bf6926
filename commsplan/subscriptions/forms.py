from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    EmailField,
    RadioField,
    SearchField,
    SelectField,
    SelectMultipleField,
    StringField,
    widgets,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional

from commsplan.forms import BaseForm
from commsplan.kinds.labels import KIND_LABELS
from commsplan.subscriptions.labels import FREQUENCY_LABELS, LANGUAGE_LABELS
from commsplan.subscriptions.models import Frequency


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class SubscriptionForm(BaseForm):
    contact = SelectField(_l("Kontakt"), coerce=int, validators=[DataRequired()])
    target = SelectField(_l("Prenumererar på"), validators=[DataRequired()])
    frequency = SelectField(
        _l("Hur ofta"),
        choices=[(f.value, label) for f, label in FREQUENCY_LABELS.items()],
        default=Frequency.immediate.value,
    )


class SubscriptionSearchForm(BaseForm):
    """The search of the subscriptions page: in the query string, no CSRF token."""

    class Meta:
        csrf = False

    q = SearchField(_l("Sök kontakt (namn eller e-post)"), validators=[Optional(), Length(max=200)])


class MultiCheckboxField(SelectMultipleField):
    """Check boxes instead of a multi-select: easier by keyboard and on a phone."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class _ChoicesForm(BaseForm):
    """What to follow and how often: the part shared by sign-up and preferences."""

    services = MultiCheckboxField(_l("E-tjänster"), coerce=int, choices=[])
    kinds = MultiCheckboxField(
        _l("Typer av meddelanden"),
        choices=[(kind.value, label) for kind, label in KIND_LABELS.items()],
        validators=[InputRequired(message=_l("Välj minst en typ av meddelande."))],
    )
    frequency = RadioField(
        _l("Hur ofta vill du få mejl?"),
        choices=[(f.value, label) for f, label in FREQUENCY_LABELS.items()],
        default=Frequency.immediate.value,
        validators=[InputRequired(message=_l("Välj hur ofta du vill få mejl."))],
    )

    def set_services(self, services: Iterable[Any]) -> None:
        self.services.choices = [(s.id, s.name) for s in services]


class SubscribeForm(_ChoicesForm):
    email = EmailField(
        _l("E-postadress"),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Ange din e-postadress.")),
            Email(
                message=_l("Ange en giltig e-postadress."), granular_message=False, check_deliverability=False
            ),
            Length(max=254, message=_l("Högst 254 tecken.")),
        ],
    )
    name = StringField(
        _l("Namn"),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Ange ditt namn.")),
            Length(max=200, message=_l("Högst 200 tecken.")),
        ],
    )
    organisation = StringField(
        _l("Organisation (frivilligt)"),
        filters=[_strip],
        validators=[Optional(), Length(max=200, message=_l("Högst 200 tecken."))],
    )
    language = RadioField(
        _l("Språk i mejlen"),
        choices=list(LANGUAGE_LABELS.items()),
        default="sv",
        validators=[InputRequired(message=_l("Välj ett språk."))],
    )


class PreferencesForm(_ChoicesForm):
    pass


class RoleDigestForm(BaseForm):
    role_digest = RadioField(
        _l("Release och allmän information"),
        choices=[(f.value, label) for f, label in FREQUENCY_LABELS.items()],
        validators=[InputRequired(message=_l("Välj hur ofta du vill få mejl."))],
    )
