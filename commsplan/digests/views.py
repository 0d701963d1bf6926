"""The coordinator's preview of someone's next digest."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _

from commsplan.digests import services
from commsplan.extensions import db
from commsplan.plan.models import Contact
from commsplan.subscriptions.models import Frequency

bp = Blueprint("digests", __name__)


@bp.get("/digests/preview/<int:contact_id>")
def preview(contact_id: int):
    contact = db.get_or_404(Contact, contact_id)
    value = request.args.get("period", Frequency.weekly.value)
    if value not in {p.value for p in services.PERIODS}:
        abort(400, _("Välj daglig eller veckovis sammanfattning."))
    period = Frequency(value)
    content, message = services.preview(db.session, contact, period)
    return render_template(
        "digests/preview.html", contact=contact, period=period, content=content, message=message
    )
