"""Builders for activity tests: a complete activity for a notice, with the plan's groups."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from commsplan.activities import services
from commsplan.activities.models import Activity, ActivityKind
from commsplan.notices.models import Notice
from commsplan.plan.models import Channel, StakeholderGroup
from tests import factories


@dataclass
class Groups:
    staff: StakeholderGroup
    residents: StakeholderGroup
    intranet: Channel
    web: Channel


def groups(session: Session) -> Groups:
    staff = factories.make_stakeholder_group(session, name="Vårdgivare – medarbetare", position=2)
    residents = factories.make_stakeholder_group(session, name="Invånare/Patienter", position=3)
    intranet = factories.make_channel(session, name="Intranätet")
    web = factories.make_channel(session, name="1177.se")
    return Groups(staff, residents, intranet, web)


def complete_data(g: Groups, **overrides: object) -> services.ActivityData:
    data = services.ActivityData(
        title="Release av Journalen",
        kind=ActivityKind.release,
        information_value=True,
        information_value_why="Ändrar hur personal bokar om.",
        purpose="Förbereda verksamheterna.",
        workdays_before=2,
        responsible_user_id=None,
        groups=[
            services.GroupAnswer(g.staff.id, True, "Ny knapp för ombokning i vyn.", [g.intranet.id]),
            services.GroupAnswer(g.residents.id, False, "Du kan nu boka om själv.", [g.web.id]),
        ],
    )
    for name, value in overrides.items():
        setattr(data, name, value)
    return data


def complete_activity(session: Session, notice: Notice | None = None, g: Groups | None = None) -> Activity:
    g = g or groups(session)
    contact = factories.make_contact(session, name="Ansvarig samordnare")
    data = complete_data(g, responsible_contact_id=contact.id, notice_ids=[notice.id] if notice else [])
    activity = services.create_activity(session, data, None)
    assert services.missing_answers(activity) == [], services.missing_answers(activity)
    return activity
