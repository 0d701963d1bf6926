"""The plan document's checklist section, read from the activity checklist template.

The plan's *Att tänka på vid olika aktivitetsinsatser* and the questions every activity
answers are one list: the template admins edit. The plan package shows the section
without knowing activities (``plan.document.register_section``).
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from commsplan.activities.defaults import ACTIVITY_TEMPLATE_KEY
from commsplan.activities.models import ChecklistTemplate
from commsplan.plan.document import Cell, Empty, Section, Table

ANCHOR = "checklista"


def checklist_section(session: Session) -> Section:
    """The current wording of the activity template's active questions, in its order.
    Answers keep the wording they were given under; this shows what is asked today."""
    template = session.scalar(
        select(ChecklistTemplate)
        .options(selectinload(ChecklistTemplate.questions))
        .where(ChecklistTemplate.key == ACTIVITY_TEMPLATE_KEY)
    )
    questions = template.active_questions if template else []
    title = _("Att tänka på vid olika aktivitetsinsatser")
    if not questions:
        return Section(ANCHOR, title, [Empty(_("Inga frågor är inlagda."))])
    table = Table(
        [_("Frågeställningar"), _("Check √")],
        [[Cell(q.text), Cell("")] for q in questions],
        css_class="checklist",
    )
    return Section(ANCHOR, title, [table])
