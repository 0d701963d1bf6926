"""Forms for editing the plan itself (texts, goals, guidelines, collaborations)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from commsplan.forms import BaseForm, WebAddress

LONG_TEXT = 20_000


def _text(label: str, max_length: int = LONG_TEXT) -> TextAreaField:
    return TextAreaField(label, validators=[Optional(), Length(max=max_length)])


class PlanForm(BaseForm):
    region = StringField(_l("Region"), validators=[DataRequired(_l("Ange regionens namn.")), Length(max=200)])
    title = StringField(_l("Planens titel"), validators=[DataRequired(_l("Ange en titel.")), Length(max=300)])
    version = StringField(_l("Version"), validators=[DataRequired(_l("Ange en version.")), Length(max=50)])
    purpose = _text(_l("Syfte"))
    stakeholders_intro = _text(_l("Inledning till intressenter"))
    guidelines_intro = _text(_l("Riktlinjer (inledande text)"))
    channels_intro = _text(_l("Kommunikationskanaler (inledande text)"))
    responsibility_intro = _text(_l("Inledning till ansvarstabellen"))
    dissemination = _text(_l("Informationsspridning och ansvarsfördelning"))
    collaboration = _text(_l("Samverkan (inledande text)"))


class GoalForm(BaseForm):
    text = TextAreaField(
        _l("Kommunikationsmål"), validators=[DataRequired(_l("Skriv målet.")), Length(max=2000)]
    )


class GuidelineForm(BaseForm):
    title = StringField(
        _l("Riktlinje"), validators=[DataRequired(_l("Ange riktlinjens namn.")), Length(max=300)]
    )
    url = StringField(_l("Länk"), validators=[Optional(), Length(max=1000), WebAddress()])


class CollaborationForm(BaseForm):
    name = StringField(_l("Samverkan"), validators=[DataRequired(_l("Ange ett namn.")), Length(max=200)])
    cadence = StringField(_l("Hur ofta"), validators=[Optional(), Length(max=200)])
    participants = TextAreaField(_l("Med vilka"), validators=[Optional(), Length(max=2000)])
