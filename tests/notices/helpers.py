"""Builders for notice tests: a small plan (responsibility table, recipients) and notices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from commsplan.notices import services
from commsplan.notices.models import Notice, NoticeKind, Severity
from commsplan.plan.models import Contact, Responsibility, Service, System, Unit, UnitKind
from commsplan.timeutil import utcnow
from tests import factories
from tests.activities.helpers import complete_activity


@dataclass
class SmallPlan:
    journalen: Service
    tidbok: Service
    epj: System
    t4: System
    itc: Unit
    epj_object: Unit
    ops: Contact  # ITC, responsible for Journalen
    epj_lead: Contact  # the EPJ system object
    strategist: Contact  # recipient of information, role E-hälsostrateg
    bystander: Contact  # same unit as the strategist, other role


def small_plan(session: Session) -> SmallPlan:
    itc = factories.make_unit(session, name="ITC")
    epj_object = factories.make_unit(session, name="EPJ-objektet", kind=UnitKind.system_object)
    nvh = factories.make_unit(session, name="Nära vård och hälsa")
    journalen = factories.make_service(session, name="Journalen")
    tidbok = factories.make_service(session, name="Webbtidbok")
    epj = factories.make_system(session, name="EPJ", object_unit=epj_object)
    t4 = factories.make_system(session, name="T4")
    session.add(Responsibility(service=journalen, system=t4, responsible_unit=itc, contact_route="Easit"))
    # The strategist's row follows every kind of notice for every e-service.
    factories.follow(session, factories.make_recipient(session, unit=nvh, role="E-hälsostrateg"))
    ops = factories.make_contact(session, name="Drift ITC", email="drift@example.org", unit=itc)
    epj_lead = factories.make_contact(
        session, name="Objektledare EPJ", email="epj@example.org", unit=epj_object
    )
    strategist = factories.make_contact(
        session, name="Strateg", email="strateg@example.org", unit=nvh, role="E-hälsostrateg"
    )
    bystander = factories.make_contact(
        session, name="Annan", email="annan@example.org", unit=nvh, role="Chef"
    )
    session.flush()
    return SmallPlan(journalen, tidbok, epj, t4, itc, epj_object, ops, epj_lead, strategist, bystander)


def notice_data(kind: NoticeKind = NoticeKind.outage, **overrides: Any) -> services.NoticeData:
    values: dict[str, Any] = {
        "kind": kind,
        "title": "Journalen går inte att nå",
        "body_markdown": "Vi felsöker.",
    }
    if kind is NoticeKind.outage:
        values["severity"] = Severity.high
    if kind is NoticeKind.service_window:
        start = utcnow().replace(microsecond=0) + timedelta(days=3)
        values.update(starts_at=start, ends_at=start + timedelta(hours=2), title="Uppgradering av Journalen")
    if kind is NoticeKind.release:
        values.update(version="2.4", title="Ny version av Journalen", release_date=utcnow().date())
    values.update(overrides)
    return services.NoticeData(**values)


def make_notice(session: Session, kind: NoticeKind = NoticeKind.outage, **overrides: Any) -> Notice:
    return services.create_draft(session, notice_data(kind, **overrides), None)


def prepared_notice(
    session: Session, kind: NoticeKind = NoticeKind.service_window, **overrides: Any
) -> Notice:
    """A draft with a linked activity whose checklist is complete: it passes the gate."""
    notice = make_notice(session, kind, **overrides)
    complete_activity(session, notice)
    return notice


def at(text: str) -> datetime:
    """An aware datetime from 'YYYY-MM-DD HH:MM' Stockholm time."""
    from commsplan.timeutil import STOCKHOLM

    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=STOCKHOLM)
