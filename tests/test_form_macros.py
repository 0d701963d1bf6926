"""The shared error summary lists every error, in Swedish, for nested and form-level errors."""

from __future__ import annotations

import html

import pytest
from flask import render_template_string, session
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FieldList, FormField, StringField
from wtforms.validators import DataRequired

from commsplan.forms import SubForm


class Row(SubForm):
    title = StringField("Rubrik", validators=[DataRequired()])


class AgendaLikeForm(FlaskForm):
    name = StringField("Namn", validators=[DataRequired()])
    rows = FieldList(FormField(Row), label="Punkter", min_entries=1)


def test_error_summary_shows_form_level_and_nested_errors_in_swedish(app):
    with app.test_request_context("/", method="POST", data={"name": ""}):
        form = AgendaLikeForm()
        assert not form.validate()
        form.form_errors.append("Tiderna överlappar.")
        html = render_template_string(
            '{% from "_macros/forms.html" import error_summary %}{{ error_summary(form) }}', form=form
        )
    assert "<li>Tiderna överlappar.</li>" in html
    assert '<a href="#name">Namn: Det här fältet är obligatoriskt.</a>' in html
    assert "Punkter: Det här fältet är obligatoriskt." in html
    assert "{" not in html and "required" not in html


class LazyRow(SubForm):
    title = StringField("Rubrik", validators=[DataRequired(message=_l("Ange kontaktens namn."))])


class LazyMessageForm(FlaskForm):
    name = StringField("Namn", validators=[DataRequired(message=_l("Ange kontaktens namn."))])
    rows = FieldList(FormField(LazyRow), label="Punkter", min_entries=1)


def _summary_in(app, language: str) -> str:
    with app.test_request_context("/", method="POST", data={"name": ""}):
        session["lang"] = language
        form = LazyMessageForm()
        assert not form.validate()
        form.form_errors.append(_l("Ange kontaktens namn."))
        return html.unescape(
            render_template_string(
                '{% from "_macros/forms.html" import error_summary, field %}'
                "{{ error_summary(form) }}{{ field(form.name) }}",
                form=form,
            )
        )


@pytest.mark.parametrize(
    ("language", "message"), [("sv", "Ange kontaktens namn."), ("en", "Enter the contact's name.")]
)
def test_lazy_messages_are_whole_sentences_not_letters(app, language, message):
    html = _summary_in(app, language)
    assert f'<a href="#name">Namn: {message}</a>' in html
    assert f"Punkter: {message}</a>" in html
    assert f"<li>{message}</li>" in html
    assert f'<p class="error" id="name-error">{message}</p>' in html
    assert "A n g e" not in html and "E n t e r" not in html
