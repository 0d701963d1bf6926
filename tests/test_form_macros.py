"""The shared error summary lists every error, in Swedish, for nested and form-level errors."""

from __future__ import annotations

from flask import render_template_string
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
