"""Forms for the plan's entities. Choices that come from the database are filled in by
the view (``set_choices``), so the forms themselves never query."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    SearchField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, Regexp

from commsplan.forms import BaseForm
from commsplan.plan.labels import (
    CHANNEL_KIND_LABELS,
    LANGUAGE_LABELS,
    NEED_KIND_LABELS,
    UNIT_KIND_LABELS,
    choices,
)
from commsplan.plan.models import ChannelKind, NeedKind, UnitKind

NONE_CHOICE = ""


def strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def optional_id(value: Any) -> int | None:
    """Coerce a select's value to an id; the empty option means "none"."""
    if value is None or value == NONE_CHOICE or value == "None":
        return None
    return int(value)


def enum_value(value: Any) -> str:
    """Coerce a select's value to a string, accepting the enum member an object holds."""
    return value.value if isinstance(value, enum.Enum) else str(value)


def _id_choices(rows: Iterable[Any], empty_label: Any | None, label: Any = None) -> list[tuple[Any, Any]]:
    options: list[tuple[Any, Any]] = [(NONE_CHOICE, empty_label)] if empty_label is not None else []
    options += [(row.id, label(row) if label else row.name) for row in rows]
    return options


class MultiCheckboxField(SelectMultipleField):
    """Check boxes instead of a multi-select: easier by keyboard and on a phone."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def _name(message: Any) -> StringField:
    return StringField(
        _l("Namn"),
        filters=[strip],
        validators=[DataRequired(message=message), Length(max=200, message=_l("Högst 200 tecken."))],
    )


def _position() -> IntegerField:
    return IntegerField(
        _l("Ordning"),
        validators=[
            Optional(),
            NumberRange(min=0, max=100000, message=_l("Ange ett heltal från 0 och uppåt.")),
        ],
    )


def _text(label: Any, max_length: int = 10000) -> TextAreaField:
    return TextAreaField(label, validators=[Optional(), Length(max=max_length)])


class UnitForm(BaseForm):
    name = _name(_l("Ange enhetens namn."))
    kind = SelectField(
        _l("Typ"), coerce=enum_value, choices=choices(UNIT_KIND_LABELS), default=UnitKind.administration.value
    )
    description = _text(_l("Beskrivning"))


class ChannelForm(BaseForm):
    name = _name(_l("Ange kanalens namn."))
    kind = SelectField(
        _l("Typ av kanal"),
        coerce=enum_value,
        choices=choices(CHANNEL_KIND_LABELS),
        default=ChannelKind.email.value,
    )
    address = StringField(_l("Adress eller webbadress"), validators=[Optional(), Length(max=1000)])
    audience = _text(_l("Vem kanalen når"))
    description = _text(_l("Beskrivning"))


class StakeholderGroupForm(BaseForm):
    name = _name(_l("Ange gruppens namn."))
    need_kind = SelectField(
        _l("Behoven formuleras"),
        coerce=enum_value,
        choices=choices(NEED_KIND_LABELS),
        default=NeedKind.able_to.value,
    )
    needs_text = TextAreaField(
        _l("Informationsbehov"),
        validators=[Optional(), Length(max=20000)],
        render_kw={"rows": 8},
    )
    description = _text(_l("Beskrivning"))
    position = _position()


class RecipientForm(BaseForm):
    unit_id = SelectField(
        _l("Enhet"), coerce=optional_id, validators=[DataRequired(message=_l("Välj en enhet."))], choices=[]
    )
    role = StringField(
        _l("Roll"),
        validators=[
            DataRequired(message=_l("Ange en roll.")),
            Length(max=200, message=_l("Högst 200 tecken.")),
        ],
    )
    channel_id = SelectField(_l("Kanal"), coerce=optional_id, choices=[])
    contact_route = StringField(_l("Kontaktväg"), validators=[Optional(), Length(max=500)])
    position = _position()

    def set_choices(self, units: Iterable[Any], channels: Iterable[Any]) -> None:
        self.unit_id.choices = _id_choices(units, _l("– välj enhet –"))
        self.channel_id.choices = _id_choices(channels, _l("– ingen kanal –"))


class ContactForm(BaseForm):
    name = _name(_l("Ange kontaktens namn."))
    email = EmailField(
        _l("E-postadress"),
        filters=[strip],
        validators=[
            DataRequired(message=_l("Ange en e-postadress.")),
            Email(message=_l("Ange en giltig e-postadress, till exempel namn@example.org.")),
            Length(max=254),
        ],
    )
    phone = StringField(
        _l("Telefon"),
        validators=[
            Optional(),
            Length(max=50),
            Regexp(r"^[0-9+()\-\s]*$", message=_l("Ange telefonnumret med siffror, mellanslag, + eller -.")),
        ],
    )
    unit_id = SelectField(_l("Enhet"), coerce=optional_id, choices=[])
    role = StringField(_l("Roll"), validators=[Optional(), Length(max=200)])
    group_ids = MultiCheckboxField(_l("Intressentgrupper"), coerce=int, choices=[])
    language = SelectField(_l("Språk"), choices=choices(LANGUAGE_LABELS), default="sv")
    active = BooleanField(_l("Aktiv (får utskick)"), default=True)

    def set_choices(self, units: Iterable[Any], groups: Iterable[Any]) -> None:
        self.unit_id.choices = _id_choices(units, _l("– ingen enhet –"))
        self.group_ids.choices = _id_choices(groups, None)


class SystemForm(BaseForm):
    name = _name(_l("Ange systemets namn."))
    object_unit_id = SelectField(_l("Systemförvaltningsobjekt"), coerce=optional_id, choices=[])
    description = _text(_l("Beskrivning"))

    def set_choices(self, units: Iterable[Any]) -> None:
        self.object_unit_id.choices = _id_choices(units, _l("– inget objekt –"))


class ServiceForm(BaseForm):
    name = _name(_l("Ange e-tjänstens namn."))
    description = _text(_l("Beskrivning"))
    position = _position()


class ResponsibilityForm(BaseForm):
    system_id = SelectField(_l("System"), coerce=optional_id, choices=[])
    responsible_unit_id = SelectField(_l("Ansvarig"), coerce=optional_id, choices=[])
    channel_id = SelectField(_l("Kontaktväg (kanal)"), coerce=optional_id, choices=[])
    contact_route = StringField(_l("Kontaktväg (fritext)"), validators=[Optional(), Length(max=500)])
    comment = _text(_l("Kommentar"))
    position = _position()

    def set_choices(self, systems: Iterable[Any], units: Iterable[Any], channels: Iterable[Any]) -> None:
        self.system_id.choices = _id_choices(systems, _l("– inget system –"))
        self.responsible_unit_id.choices = _id_choices(units, _l("– ingen ansvarig –"))
        self.channel_id.choices = _id_choices(channels, _l("– ingen kanal –"))


class DependencyForm(BaseForm):
    service_id = SelectField(_l("E-tjänst"), coerce=optional_id, choices=[])
    system_id = SelectField(
        _l("Beroende av systemet"),
        coerce=optional_id,
        validators=[DataRequired(message=_l("Välj ett system."))],
        choices=[],
    )
    note = _text(_l("Anteckning"))

    def set_choices(self, services: Iterable[Any], systems: Iterable[Any]) -> None:
        self.service_id.choices = _id_choices(services, _l("Alla e-tjänster"))
        self.system_id.choices = _id_choices(systems, _l("– välj system –"))


class _FilterForm(BaseForm):
    """Filters travel in the query string: no CSRF token, nothing is changed."""

    class Meta:
        csrf = False


class ContactFilterForm(_FilterForm):
    q = SearchField(_l("Sök namn, e-post eller roll"), validators=[Optional(), Length(max=200)])
    unit = SelectField(_l("Enhet"), coerce=optional_id, choices=[])
    group = SelectField(_l("Intressentgrupp"), coerce=optional_id, choices=[])
    active = SelectField(
        _l("Status"), choices=[("", _l("Alla")), ("1", _l("Aktiva")), ("0", _l("Inaktiva"))], default=""
    )
    origin = SelectField(
        _l("Ursprung"), choices=[("", _l("Alla")), ("self", _l("Självregistrerade"))], default=""
    )

    def set_choices(self, units: Iterable[Any], groups: Iterable[Any]) -> None:
        self.unit.choices = _id_choices(units, _l("Alla enheter"))
        self.group.choices = _id_choices(groups, _l("Alla grupper"))


class RecipientFilterForm(_FilterForm):
    q = SearchField(_l("Sök enhet, roll eller kontaktväg"), validators=[Optional(), Length(max=200)])
    kind = SelectField(
        _l("Typ av enhet"), choices=[("", _l("Alla typer")), *choices(UNIT_KIND_LABELS)], default=""
    )
