from __future__ import annotations

from datetime import UTC, datetime

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    DateTimeLocalField,
    EmailField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from commsplan.forms import BaseForm
from commsplan.notices.labels import KIND_LABELS, OUTAGE_STATE_LABELS, SEVERITY_LABELS
from commsplan.notices.models import NoticeKind, OutageState, Severity
from commsplan.timeutil import STOCKHOLM

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def to_utc(value: datetime | None) -> datetime | None:
    """Form times are Stockholm wall-clock time."""
    if value is None:
        return None
    return value.replace(tzinfo=STOCKHOLM).astimezone(UTC)


def to_local_naive(value: datetime | None) -> datetime | None:
    return value.astimezone(STOCKHOLM).replace(tzinfo=None) if value else None


def _choices(labels: dict) -> list[tuple[str, str]]:
    return [(member.value, label) for member, label in labels.items()]


class NoticeForm(BaseForm):
    kind = SelectField(_l("Typ"), choices=_choices(KIND_LABELS), validators=[DataRequired()])
    title = StringField(_l("Rubrik"), validators=[DataRequired(), Length(max=200)])
    body_markdown = TextAreaField(
        _l("Text"), validators=[Optional(), Length(max=20000)], render_kw={"rows": 8}
    )
    title_en = StringField(_l("Rubrik på engelska (valfri)"), validators=[Optional(), Length(max=200)])
    body_markdown_en = TextAreaField(
        _l("Text på engelska (valfri)"), validators=[Optional(), Length(max=20000)], render_kw={"rows": 6}
    )
    services = MultiCheckboxField(_l("Berörda e-tjänster"), coerce=int, validate_choice=True)
    systems = MultiCheckboxField(_l("Berörda system"), coerce=int, validate_choice=True)
    groups = MultiCheckboxField(_l("Intressentgrupper som ska få meddelandet"), coerce=int)
    severity = SelectField(
        _l("Allvarlighetsgrad (driftstörning)"),
        choices=[("", "–")] + _choices(SEVERITY_LABELS),
        validators=[Optional()],
    )
    outage_state = SelectField(
        _l("Status (driftstörning)"), choices=_choices(OUTAGE_STATE_LABELS), validators=[Optional()]
    )
    starts_at = DateTimeLocalField(
        _l("Start (servicefönster, driftstörning)"), format=LOCAL_FORMAT, validators=[Optional()]
    )
    ends_at = DateTimeLocalField(_l("Slut"), format=LOCAL_FORMAT, validators=[Optional()])
    reminder_minutes = IntegerField(
        _l("Påminnelse, minuter före start (servicefönster)"),
        validators=[Optional(), NumberRange(min=0, max=60 * 24 * 60)],
    )
    version = StringField(_l("Version (release)"), validators=[Optional(), Length(max=100)])
    release_date = DateField(_l("Releasedatum"), validators=[Optional()])
    changes_for_staff = TextAreaField(
        _l("Det här ändras för medarbetare"),
        validators=[Optional(), Length(max=10000)],
        render_kw={"rows": 4},
    )
    changes_for_residents = TextAreaField(
        _l("Det här ändras för invånare"), validators=[Optional(), Length(max=10000)], render_kw={"rows": 4}
    )

    @property
    def kind_value(self) -> NoticeKind:
        return NoticeKind(self.kind.data)

    @property
    def severity_value(self) -> Severity | None:
        return Severity(self.severity.data) if self.severity.data else None

    @property
    def outage_state_value(self) -> OutageState | None:
        return OutageState(self.outage_state.data) if self.outage_state.data else None


class UpdateForm(BaseForm):
    body = TextAreaField(
        _l("Vad är nytt?"), validators=[Optional(), Length(max=20000)], render_kw={"rows": 6}
    )
    outage_state = SelectField(
        _l("Ny status"),
        choices=[("", _l("Oförändrad"))] + _choices(OUTAGE_STATE_LABELS),
        validators=[Optional()],
    )


class FinishForm(BaseForm):
    body = TextAreaField(_l("Meddelande till mottagarna"), validators=[Optional(), Length(max=20000)])
    # Only for closing an outage: when it really ended (filled in with now).
    ended_at = DateTimeLocalField(_l("Driftstörningen slutade"), format=LOCAL_FORMAT, validators=[Optional()])


class RescheduleForm(BaseForm):
    starts_at = DateTimeLocalField(_l("Ny start"), format=LOCAL_FORMAT, validators=[DataRequired()])
    ends_at = DateTimeLocalField(_l("Nytt slut"), format=LOCAL_FORMAT, validators=[DataRequired()])
    body = TextAreaField(_l("Meddelande till mottagarna"), validators=[Optional(), Length(max=20000)])


class AddRecipientForm(BaseForm):
    email = EmailField(_l("E-postadress"), validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField(_l("Namn"), validators=[Optional(), Length(max=200)])


class PublishForm(BaseForm):
    expected = IntegerField(validators=[Optional()])
