from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from commsplan.auth.models import Role
from commsplan.auth.services import MIN_PASSWORD_LENGTH
from commsplan.forms import BaseForm

ROLE_CHOICES = [
    (Role.viewer.value, _l("Läsare")),
    (Role.coordinator.value, _l("Samordnare")),
    (Role.admin.value, _l("Administratör")),
]


class LoginForm(BaseForm):
    email = EmailField(_l("E-postadress"), validators=[DataRequired(), Email()])
    password = PasswordField(_l("Lösenord"), validators=[DataRequired()])
    remember = BooleanField(_l("Kom ihåg mig"))


class UserCreateForm(BaseForm):
    email = EmailField(_l("E-postadress"), validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField(_l("Namn"), validators=[Optional(), Length(max=200)])
    role = SelectField(_l("Roll"), choices=ROLE_CHOICES, default=Role.viewer.value)
    password = PasswordField(
        _l("Lösenord"), validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200)]
    )
    confirm = PasswordField(
        _l("Upprepa lösenordet"),
        validators=[DataRequired(), EqualTo("password", message=_l("Lösenorden är inte lika."))],
    )


class UserEditForm(BaseForm):
    name = StringField(_l("Namn"), validators=[Optional(), Length(max=200)])
    role = SelectField(_l("Roll"), choices=ROLE_CHOICES)
    active = BooleanField(_l("Kontot är aktivt"))
    password = PasswordField(
        _l("Nytt lösenord (lämna tomt för att behålla)"),
        validators=[Optional(), Length(min=MIN_PASSWORD_LENGTH, max=200)],
    )
