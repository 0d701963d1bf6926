"""Forms for activities, their checklist and the checklist templates.

The activity form is built per request: one row per stakeholder group (affected?, core
message, channels) and one field per text or confirmation question of its template.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    Field,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from commsplan.activities.labels import ACTIVITY_KIND_LABELS, ANSWER_KIND_LABELS
from commsplan.activities.models import ActivityKind, AnswerKind, TemplateQuestion
from commsplan.forms import BaseForm
from commsplan.notices.forms import MultiCheckboxField
from commsplan.plan.models import Channel, StakeholderGroup


class ActivityForm(BaseForm):
    title = StringField(_l("Rubrik"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(
        _l("Slag av aktivitet"), choices=[(k.value, ACTIVITY_KIND_LABELS[k]) for k in ActivityKind]
    )
    notices = SelectMultipleField(_l("Kopplade meddelanden"), coerce=int)
    occurrence = SelectField(_l("Mötestillfälle"), coerce=int)
    information_value = RadioField(
        _l("Informationsvärde"),
        choices=[("yes", _l("Ja")), ("no", _l("Nej"))],
        # Unanswered is allowed (an idea); anything but yes/no counts as unanswered.
        validate_choice=False,
    )
    information_value_why = TextAreaField(_l("Varför?"), validators=[Length(max=5000)])
    purpose = TextAreaField(_l("Syfte"), validators=[Length(max=5000)])
    due_at = DateTimeLocalField(_l("Tidpunkt"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    workdays_before = IntegerField(
        _l("eller antal arbetsdagar före releasen/servicefönstret"),
        validators=[Optional(), NumberRange(min=0, max=250)],
    )
    # "u<id>" or "c<id>"; checked when the answers are read (an unknown one is a 400).
    responsible = SelectField(_l("Ansvarig"), validate_choice=False)

    group_rows: list[tuple[StakeholderGroup, Field, Field, Field]]
    question_rows: list[tuple[TemplateQuestion, Field]]


AFFECTED_CHOICES = [
    ("", _l("Inte berörd")),
    ("direct", _l("Direkt berörd")),
    ("indirect", _l("Indirekt berörd")),
]


def activity_form(
    groups: list[StakeholderGroup],
    channels: list[Channel],
    questions: list[TemplateQuestion],
    **kwargs: Any,
) -> ActivityForm:
    """An ``ActivityForm`` with a row per stakeholder group and a field per free question."""

    class Form(ActivityForm):
        pass

    channel_choices = [(c.id, c.name) for c in channels]
    for group in groups:
        setattr(
            Form,
            f"g{group.id}_affected",
            SelectField(_l("Berörd"), choices=AFFECTED_CHOICES, default=""),
        )
        setattr(Form, f"g{group.id}_message", TextAreaField(_l("Kärnbudskap"), validators=[Length(max=5000)]))
        setattr(
            Form,
            f"g{group.id}_channels",
            MultiCheckboxField(_l("Kanaler"), coerce=int, choices=channel_choices),
        )
    for question in questions:
        if question.answer_kind is AnswerKind.confirm:
            setattr(Form, f"q{question.id}", BooleanField(question.text))
        elif question.answer_kind is AnswerKind.text:
            setattr(Form, f"q{question.id}", TextAreaField(question.text, validators=[Length(max=5000)]))
    form = Form(**kwargs)
    form.group_rows = [
        (g, form[f"g{g.id}_affected"], form[f"g{g.id}_message"], form[f"g{g.id}_channels"]) for g in groups
    ]
    form.question_rows = [(q, form[f"q{q.id}"]) for q in questions if f"q{q.id}" in form]
    return form


class DropForm(BaseForm):
    reason = TextAreaField(
        _l("Varför blir aktiviteten inte av?"), validators=[DataRequired(), Length(max=2000)]
    )


class QuestionForm(BaseForm):
    text = TextAreaField(_l("Fråga"), validators=[DataRequired(), Length(max=2000)])
    help_text = TextAreaField(_l("Hjälptext"), validators=[Length(max=2000)])
    answer_kind = SelectField(
        _l("Slag av svar"),
        choices=[(k.value, ANSWER_KIND_LABELS[k]) for k in (AnswerKind.text, AnswerKind.confirm)],
        default=AnswerKind.text.value,
    )


class GateForm(BaseForm):
    enabled = BooleanField(
        _l("Release, servicefönster och allmän information kräver en aktivitet med komplett checklista")
    )
