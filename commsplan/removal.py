"""The page that asks before something is removed, shared by every feature.

GET shows what will be removed (``templates/confirm_delete.html``); a POST with a valid
CSRF token and nothing in the way removes it, commits, says so and moves on. Features
pass what differs: the question, what blocks the removal, how to remove, where to go.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from flask import flash, redirect, render_template
from flask.typing import ResponseReturnValue

from commsplan.extensions import db
from commsplan.forms import ConfirmForm


def confirm_removal(
    *,
    title: str,
    cancel_url: str,
    remove: Callable[[], object],
    done: str,
    next_url: str,
    blockers: Sequence[str] = (),
) -> ResponseReturnValue:
    """Ask ``title``; on a confirmed POST run ``remove()``, commit, flash ``done`` and go to ``next_url``."""
    form = ConfirmForm()
    if form.validate_on_submit() and not blockers:
        remove()
        db.session.commit()
        flash(done, "success")
        return redirect(next_url)
    return render_template(
        "confirm_delete.html", form=form, title=title, blockers=list(blockers), cancel_url=cancel_url
    )
