from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from commsplan.forms import BaseForm
from commsplan.kinds.labels import KIND_LABELS
from commsplan.notices.forms import MultiCheckboxField
from commsplan.relay.labels import SOURCE_KIND_LABELS
from commsplan.relay.models import SourceKind


class SourceForm(BaseForm):
    name = StringField(_l("Namn"), validators=[DataRequired(), Length(max=100)])
    kind = SelectField(
        _l("Typ av källa"),
        choices=[(k.value, SOURCE_KIND_LABELS[k]) for k in (SourceKind.imap, SourceKind.feed)],
        validators=[DataRequired()],
    )
    url = StringField(
        _l("Flödets adress (Atom, RSS, iCalendar, JSON Feed)"), validators=[Optional(), Length(max=2000)]
    )
    interval_minutes = IntegerField(
        _l("Minuter mellan läsningar"), validators=[Optional(), NumberRange(min=1, max=1440)]
    )
    host = StringField(_l("IMAP-server"), validators=[Optional(), Length(max=255)])
    port = IntegerField(_l("Port"), validators=[Optional(), NumberRange(min=1, max=65535)])
    tls = BooleanField(_l("Krypterad anslutning (TLS)"), default=True)
    user = StringField(_l("Användarnamn"), validators=[Optional(), Length(max=255)])
    password_env = StringField(_l("Miljövariabel med lösenordet"), validators=[Optional(), Length(max=100)])
    folder = StringField(_l("Mapp"), default="INBOX", validators=[Optional(), Length(max=255)])
    move_to = StringField(
        _l("Flytta lästa brev till mappen (valfri)"), validators=[Optional(), Length(max=255)]
    )
    auto_publish = MultiCheckboxField(
        _l("Publicera direkt utan granskning"),
        choices=[(k.value, label) for k, label in KIND_LABELS.items()],
    )

    @property
    def kind_value(self) -> SourceKind:
        return SourceKind(self.kind.data)


class AutoPublishForm(BaseForm):
    auto_publish = MultiCheckboxField(
        _l("Publicera direkt utan granskning"),
        choices=[(k.value, label) for k, label in KIND_LABELS.items()],
    )


class PasteForm(BaseForm):
    text = TextAreaField(
        _l("E-postmeddelande eller text"),
        validators=[DataRequired(), Length(max=200_000)],
        render_kw={"rows": 14},
    )


class DismissForm(BaseForm):
    reason = StringField(_l("Varför avfärdas posten?"), validators=[DataRequired(), Length(max=500)])


class MergeForm(BaseForm):
    notice = SelectField(_l("Publicerat meddelande"), coerce=int, validators=[DataRequired()])
