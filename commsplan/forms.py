"""Forms shared by several features."""

from __future__ import annotations

from flask_wtf import FlaskForm


class ConfirmForm(FlaskForm):
    """A form with only its CSRF token: confirmation pages and one-click buttons."""
