"""The mapping rule form: a word to recognise and the e-service and/or system it means."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import HiddenField, SearchField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from commsplan.forms import BaseForm
from commsplan.plan.models import Service, System
from commsplan.relay.rules import PATTERN_LENGTH

CHOICE_MESSAGE = _l("Välj ett av alternativen i listan.")


def _optional_id(value: object) -> int | None:
    if value in (None, "", "None"):
        return None
    return int(str(value))


class OptionalIdSelectField(SelectField):
    """A picker of rows by id, or none; anything else gets a plain Swedish message."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError(str(CHOICE_MESSAGE)) from error

    def pre_validate(self, form: Any) -> None:
        try:
            super().pre_validate(form)
        except ValidationError as error:
            raise ValidationError(str(CHOICE_MESSAGE)) from error


class RuleForm(BaseForm):
    pattern = StringField(_l("Ord eller beteckning"), validators=[DataRequired(), Length(max=PATTERN_LENGTH)])
    service_id = OptionalIdSelectField(_l("E-tjänst"), coerce=_optional_id)
    system_id = OptionalIdSelectField(_l("System"), coerce=_optional_id)
    note = TextAreaField(_l("Anteckning"), validators=[Length(max=2000)])
    next = HiddenField()

    def fill_choices(self, session: Session) -> None:
        none = [("", str(_l("– ingen –")))]
        services = session.scalars(
            select(Service).where(Service.in_use()).order_by(Service.position, Service.name)
        )
        systems = session.scalars(select(System).where(System.in_use()).order_by(System.name))
        self.service_id.choices = none + [(s.id, s.name) for s in services]
        self.system_id.choices = none + [(s.id, s.name) for s in systems]


class RuleFilterForm(BaseForm):
    class Meta:
        csrf = False

    q = SearchField(_l("Sök ord, e-tjänst eller system"), validators=[Optional(), Length(max=200)])
