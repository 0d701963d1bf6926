"""Forms for meeting series, occurrences, agendas and the public sign-up."""

from __future__ import annotations

import re
from datetime import date
from functools import cache

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    FieldList,
    FormField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
    URLField,
)
from wtforms.form import Form
from wtforms.i18n import get_translations
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from commsplan.forms import BaseForm, WebAddress
from commsplan.languages import mail_language
from commsplan.meetings.models import HolidayPolicy, MeetingKind, MeetingSeries
from commsplan.meetings.services import (
    AgendaItemData,
    MeetingError,
    SeriesData,
    normalise_rrule,
    parse_explicit_dates,
)
from commsplan.plan.labels import LANGUAGE_LABELS
from commsplan.plan.models import Contact, StakeholderGroup, Unit


def _builtin_translations(_meta: object, _form: object) -> object:
    # WTForms' own Swedish messages ("Felaktig URL.") for its validators: Flask-WTF only
    # looks in the app's catalog, which does not carry them, so users saw English.
    locale = get_locale()
    return _translations_for(str(locale) if locale else "sv")


@cache
def _translations_for(language: str) -> object:
    return get_translations([language])


class MeetingForm(BaseForm):
    class Meta:
        get_translations = _builtin_translations


class MeetingSubform(Form):
    """A row inside a FieldList: same messages, no CSRF of its own."""

    class Meta:
        get_translations = _builtin_translations


class MultiCheckboxField(SelectMultipleField):
    """Checkboxes in a fieldset (see _macros/forms.html): keyboard friendly, no script."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


KIND_CHOICES = [
    (MeetingKind.network.value, _l("Nätverksmöte")),
    (MeetingKind.collaboration.value, _l("Samverkansmöte")),
    (MeetingKind.information.value, _l("Informationsmöte")),
    (MeetingKind.other.value, _l("Annat möte")),
]
KIND_LABELS = dict(KIND_CHOICES)

CADENCE_CHOICES = [
    ("monthly", _l("Varje månad på en viss veckodag (t.ex. andra tisdagen)")),
    ("quarterly", _l("Var tredje månad (kvartalsvis) på en viss veckodag")),
    ("weekly", _l("Varje vecka eller med några veckors mellanrum")),
    ("dates", _l("Egna datum")),
    ("custom", _l("Avancerat: egen upprepningsregel (RRULE)")),
]
ORDINAL_CHOICES = [
    ("1", _l("första")),
    ("2", _l("andra")),
    ("3", _l("tredje")),
    ("4", _l("fjärde")),
    ("-1", _l("sista")),
]
WEEKDAY_CHOICES = [
    ("MO", _l("måndagen")),
    ("TU", _l("tisdagen")),
    ("WE", _l("onsdagen")),
    ("TH", _l("torsdagen")),
    ("FR", _l("fredagen")),
]
HOLIDAY_CHOICES = [
    (HolidayPolicy.skip.value, _l("Hoppa över mötet")),
    (HolidayPolicy.next_working_day.value, _l("Flytta mötet till nästa arbetsdag")),
]

_SIMPLE_RULE = re.compile(r"^FREQ=(MONTHLY|WEEKLY)(?:;INTERVAL=(\d+))?;BYDAY=(-1|[1-4])?(MO|TU|WE|TH|FR)$")


REMINDER_CHOICES = [
    ("", _l("Ingen påminnelse")),
    ("15", _l("15 minuter före")),
    ("60", _l("1 timme före")),
    ("1440", _l("1 dag före")),
]


class SeriesForm(MeetingForm):
    title = StringField(_l("Rubrik"), validators=[DataRequired(), Length(max=300)])
    kind = SelectField(_l("Typ av möte"), choices=KIND_CHOICES, default=MeetingKind.network.value)
    description = TextAreaField(_l("Beskrivning"), validators=[Optional(), Length(max=5000)])
    cadence = RadioField(_l("Hur ofta"), choices=CADENCE_CHOICES, default="monthly")
    ordinal = SelectField(_l("Vilken i månaden"), choices=ORDINAL_CHOICES, default="2")
    weekday = SelectField(_l("Veckodag"), choices=WEEKDAY_CHOICES, default="TU")
    week_interval = IntegerField(
        _l("Antal veckor mellan mötena"), default=1, validators=[Optional(), NumberRange(min=1, max=52)]
    )
    explicit_dates = TextAreaField(_l("Datum"), validators=[Optional()])
    rrule = StringField(_l("Upprepningsregel (RRULE)"), validators=[Optional(), Length(max=500)])
    starts_on = DateField(_l("Första datum"), validators=[DataRequired()], default=date.today)
    start_time = TimeField(_l("Starttid"), validators=[DataRequired()])
    duration_minutes = IntegerField(
        _l("Längd i minuter"), default=60, validators=[DataRequired(), NumberRange(min=5, max=1440)]
    )
    location = StringField(_l("Plats"), validators=[Optional(), Length(max=300)])
    online_url = URLField(
        _l("Länk till digitalt möte"), validators=[Optional(), WebAddress(), Length(max=1000)]
    )
    organiser_name = StringField(_l("Arrangör"), validators=[Optional(), Length(max=200)])
    organiser_email = EmailField(
        _l("Arrangörens e-postadress"), validators=[Optional(), Email(), Length(max=254)]
    )
    holiday_policy = RadioField(
        _l("När ett möte hamnar på en helgdag"), choices=HOLIDAY_CHOICES, default=HolidayPolicy.skip.value
    )
    july_break = BooleanField(_l("Sommaruppehåll i juli (inga möten i juli)"))
    # Checked in to_data: a form sent without the field (older pages, scripts) means none.
    reminder_minutes = SelectField(
        _l("Påminnelse i kalendern"), choices=REMINDER_CHOICES, default="", validate_choice=False
    )
    registration_open = BooleanField(_l("Öppen anmälan (informationsmöte)"))
    # Addresses, not check boxes: a region has thousands of contacts to choose among.
    contacts = TextAreaField(
        _l("Enskilda kontakter (en e-postadress per rad)"), validators=[Length(max=20_000)]
    )
    units = MultiCheckboxField(_l("Enheter (alla kontakter på enheten)"), coerce=int)
    groups = MultiCheckboxField(_l("Intressentgrupper (alla kontakter i gruppen)"), coerce=int)

    def load_choices(self, session: Session) -> None:
        self.units.choices = [(u.id, u.name) for u in session.scalars(select(Unit).order_by(Unit.name))]
        self.groups.choices = [
            (g.id, g.name)
            for g in session.scalars(
                select(StakeholderGroup).where(StakeholderGroup.in_use()).order_by(StakeholderGroup.position)
            )
        ]

    def fill_from(self, series: MeetingSeries) -> None:
        """Show the stored rule in the simple choices when it is one of them."""
        self.kind.data = series.kind.value
        self.holiday_policy.data = series.holiday_policy.value
        self.contacts.data = "\n".join(c.email for c in series.contacts)
        self.units.data = [u.id for u in series.units]
        self.groups.data = [g.id for g in series.groups]
        self.reminder_minutes.data = str(series.reminder_minutes or "")
        if not series.rrule:
            self.cadence.data = "dates"
            self.explicit_dates.data = "\n".join(series.explicit_dates or [])
            return
        self.rrule.data = series.rrule
        match = _SIMPLE_RULE.match(series.rrule)
        if not match:
            self.cadence.data = "custom"
            return
        freq, interval, ordinal, weekday = match.groups()
        self.weekday.data = weekday
        if freq == "WEEKLY" and not ordinal:
            self.cadence.data = "weekly"
            self.week_interval.data = int(interval or 1)
        elif freq == "MONTHLY" and ordinal and interval in (None, "1"):
            self.cadence.data, self.ordinal.data = "monthly", ordinal
        elif freq == "MONTHLY" and ordinal and interval == "3":
            self.cadence.data, self.ordinal.data = "quarterly", ordinal
        else:
            self.cadence.data = "custom"

    def cadence_rule(self) -> tuple[str | None, list[str] | None]:
        """The RRULE or date list the chosen cadence means; MeetingError on bad input."""
        choice = self.cadence.data
        byday = f"{self.ordinal.data}{self.weekday.data}"
        if choice == "monthly":
            return f"FREQ=MONTHLY;BYDAY={byday}", None
        if choice == "quarterly":
            return f"FREQ=MONTHLY;INTERVAL=3;BYDAY={byday}", None
        if choice == "weekly":
            interval = self.week_interval.data or 1
            prefix = "FREQ=WEEKLY" if interval == 1 else f"FREQ=WEEKLY;INTERVAL={interval}"
            return f"{prefix};BYDAY={self.weekday.data}", None
        if choice == "dates":
            try:
                return None, parse_explicit_dates(self.explicit_dates.data or "")
            except MeetingError as error:
                error.field = "explicit_dates"
                raise
        try:
            return normalise_rrule(self.rrule.data or ""), None
        except MeetingError as error:
            error.field = "rrule"
            raise

    def to_data(self, session: Session) -> SeriesData:
        rule, dates = self.cadence_rule()
        return SeriesData(
            title=self.title.data.strip(),
            kind=MeetingKind(self.kind.data),
            description=self.description.data or "",
            rrule=rule,
            explicit_dates=dates,
            starts_on=self.starts_on.data,
            start_time=self.start_time.data,
            duration_minutes=self.duration_minutes.data,
            location=(self.location.data or "").strip(),
            online_url=(self.online_url.data or "").strip(),
            organiser_name=(self.organiser_name.data or "").strip(),
            organiser_email=(self.organiser_email.data or "").strip(),
            holiday_policy=HolidayPolicy(self.holiday_policy.data),
            july_break=self.july_break.data,
            registration_open=self.registration_open.data,
            reminder_minutes=_reminder(self.reminder_minutes.data),
            contacts=_contacts_by_address(session, self.contacts.data),
            units=_load(session, Unit, self.units.data),
            groups=_load(session, StakeholderGroup, self.groups.data),
        )


def _reminder(value: str | None) -> int | None:
    if not value:
        return None
    if not value.isdigit():
        raise MeetingError(str(_l("Välj en påminnelse i listan.")), "reminder_minutes")
    return int(value)


def _contacts_by_address(session: Session, text: str | None) -> list[Contact]:
    """The contacts whose addresses are listed (one per line, or separated by commas)."""
    wanted = dict.fromkeys(part.strip().lower() for part in re.split(r"[\s,;]+", text or "") if part.strip())
    if not wanted:
        return []
    found = {
        c.email.lower(): c
        for c in session.scalars(select(Contact).where(func.lower(Contact.email).in_(list(wanted))))
    }
    unknown = [address for address in wanted if address not in found]
    if unknown:
        raise MeetingError(
            str(_l("Det finns ingen kontakt med adressen %(addresses)s.", addresses=", ".join(unknown[:5]))),
            "contacts",
        )
    return [found[address] for address in wanted]


def _load(session: Session, model: type, ids: list[int] | None) -> list:
    if not ids:
        return []
    return list(session.scalars(select(model).where(model.id.in_(ids))))


class MoveForm(MeetingForm):
    day = DateField(_l("Datum"), validators=[DataRequired()])
    start_time = TimeField(_l("Starttid"), validators=[DataRequired()])
    end_time = TimeField(_l("Sluttid"), validators=[DataRequired()])
    location = StringField(
        _l("Plats (lämna tomt för seriens plats)"), validators=[Optional(), Length(max=300)]
    )
    online_url = URLField(
        _l("Länk till digitalt möte (lämna tomt för seriens länk)"),
        validators=[Optional(), WebAddress(), Length(max=1000)],
    )
    note = TextAreaField(_l("Meddelande om ändringen"), validators=[Optional(), Length(max=2000)])


class CancelForm(MeetingForm):
    note = TextAreaField(_l("Anledning (visas för deltagarna)"), validators=[Optional(), Length(max=2000)])


class AgendaRowForm(MeetingSubform):
    """One row of the agenda editor; a row without a title is ignored (or removes the item)."""

    position = IntegerField(_l("Ordning"), validators=[Optional(), NumberRange(min=1, max=999)])
    title = StringField(_l("Punkt"), validators=[Optional(), Length(max=300)])
    presenter = StringField(_l("Föredragande"), validators=[Optional(), Length(max=200)])
    duration_minutes = IntegerField(_l("Minuter"), validators=[Optional(), NumberRange(min=0, max=600)])
    fixed_start = TimeField(_l("Fast tid"), validators=[Optional()])
    is_break = BooleanField(_l("Paus"))
    notes = StringField(_l("Anteckning"), validators=[Optional(), Length(max=2000)])
    material_url = URLField(_l("Länk till material"), validators=[Optional(), WebAddress(), Length(max=1000)])


class AgendaForm(MeetingForm):
    items = FieldList(FormField(AgendaRowForm), min_entries=0)
    practical_notes = TextAreaField(
        _l("Praktisk information (Markdown)"), validators=[Optional(), Length(max=5000)]
    )
    material_url = URLField(
        _l("Länk till material och presentationer"), validators=[Optional(), WebAddress(), Length(max=1000)]
    )
    minutes_url = URLField(
        _l("Länk till minnesanteckningar eller inspelning"),
        validators=[Optional(), WebAddress(), Length(max=1000)],
    )
    minutes_markdown = TextAreaField(_l("Minnesanteckningar (Markdown)"), validators=[Optional()])

    def agenda_items(self) -> list[AgendaItemData]:
        """The filled-in rows in the order the coordinator numbered them."""
        numbered = sorted(
            (
                (entry.form.position.data or index + 1, index, entry.form)
                for index, entry in enumerate(self.items)
            ),
            key=lambda row: row[:2],
        )
        return [
            AgendaItemData(
                title=row.title.data,
                presenter=row.presenter.data or "",
                duration_minutes=row.duration_minutes.data or 0,
                is_break=bool(row.is_break.data),
                fixed_start=row.fixed_start.data,
                notes=row.notes.data or "",
                material_url=(row.material_url.data or "").strip(),
            )
            for _position, _index, row in numbered
            if (row.title.data or "").strip()
        ]


class RegistrationForm(MeetingForm):
    name = StringField(_l("Namn"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("E-postadress"), validators=[DataRequired(), Email(), Length(max=254)])
    organisation = StringField(_l("Organisation"), validators=[Optional(), Length(max=300)])
    # Defaults to the language the page is shown in when the person signs up.
    language = SelectField(
        _l("Språk i mejlen om mötet"),
        choices=[(code, label) for code, label in LANGUAGE_LABELS.items()],
        default=lambda: mail_language(str(get_locale() or "")),
        validators=[DataRequired()],
    )


def describe_cadence(series: MeetingSeries) -> str:
    """The cadence in words for the series page ("var tredje månad, andra onsdagen")."""
    if not series.rrule:
        return str(_l("egna datum"))
    match = _SIMPLE_RULE.match(series.rrule)
    if not match:
        return series.rrule
    freq, interval, ordinal, weekday = match.groups()
    day = str(dict(WEEKDAY_CHOICES)[weekday])
    if freq == "MONTHLY" and ordinal:
        which = str(dict(ORDINAL_CHOICES)[ordinal])
        if interval in (None, "1"):
            return str(_l("varje månad, %(which)s %(day)s", which=which, day=day))
        if interval == "3":
            return str(_l("var tredje månad, %(which)s %(day)s", which=which, day=day))
        return str(_l("var %(n)s:e månad, %(which)s %(day)s", n=interval, which=which, day=day))
    if freq == "WEEKLY" and not ordinal:
        weekday_name = day.removesuffix("en")
        if interval in (None, "1"):
            return str(_l("varje %(day)s", day=weekday_name))
        return str(_l("var %(n)s:e vecka på %(day)s", n=interval, day=weekday_name))
    return series.rrule
