"""Factory helpers: ``make_x(session, **overrides)`` adds a valid row and flushes it."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.orm import Session

from commsplan.audience.models import AudienceRule
from commsplan.auth.models import Role, User
from commsplan.kinds import NoticeKind, Severity
from commsplan.meetings import services as meeting_services
from commsplan.meetings.models import Occurrence, Registration
from commsplan.plan.models import (
    Channel,
    ChannelKind,
    Contact,
    Recipient,
    Service,
    StakeholderGroup,
    System,
    Unit,
    UnitKind,
)

PASSWORD = "correct horse battery"
_counter = itertools.count(1)


def _n() -> int:
    return next(_counter)


def _save(session: Session, obj: Any) -> Any:
    session.add(obj)
    session.flush()
    return obj


def make_user(session: Session, **overrides: Any) -> User:
    password = overrides.pop("password", PASSWORD)
    values = {"email": f"user{_n()}@example.org", "role": Role.coordinator, "name": "Test"}
    values.update(overrides)
    user = User(**values)
    user.set_password(password)
    return _save(session, user)


def make_unit(session: Session, **overrides: Any) -> Unit:
    values = {"name": f"Enhet {_n()}", "kind": UnitKind.administration}
    values.update(overrides)
    return _save(session, Unit(**values))


def make_channel(session: Session, **overrides: Any) -> Channel:
    values = {"name": f"Kanal {_n()}", "kind": ChannelKind.email, "address": "funktion@example.org"}
    values.update(overrides)
    return _save(session, Channel(**values))


def make_stakeholder_group(session: Session, **overrides: Any) -> StakeholderGroup:
    values = {"name": f"Grupp {_n()}"}
    values.update(overrides)
    return _save(session, StakeholderGroup(**values))


def make_contact(session: Session, **overrides: Any) -> Contact:
    n = _n()
    values = {"name": f"Kontakt {n}", "email": f"kontakt{n}@example.org"}
    values.update(overrides)
    return _save(session, Contact(**values))


def make_recipient(session: Session, **overrides: Any) -> Recipient:
    if "unit" not in overrides and "unit_id" not in overrides:
        overrides["unit"] = make_unit(session)
    values = {"role": "Handläggare"}
    values.update(overrides)
    return _save(session, Recipient(**values))


def follow(
    session: Session,
    recipient: Recipient,
    kinds: tuple[NoticeKind, ...] = tuple(NoticeKind),
    *,
    service: Service | None = None,
    own_systems: bool = False,
    min_severity: Severity | None = None,
) -> list[AudienceRule]:
    """Audience rules: ``recipient`` follows ``kinds`` for ``service`` (None: all e-services)."""
    rules = [
        AudienceRule(
            recipient=recipient,
            service=service,
            own_systems=own_systems,
            kind=kind,
            min_severity=min_severity if kind is NoticeKind.outage else None,
        )
        for kind in kinds
    ]
    session.add_all(rules)
    session.flush()
    return rules


def make_system(session: Session, **overrides: Any) -> System:
    values = {"name": f"System {_n()}"}
    values.update(overrides)
    return _save(session, System(**values))


def make_service(session: Session, **overrides: Any) -> Service:
    values = {"name": f"E-tjänst {_n()}"}
    values.update(overrides)
    return _save(session, Service(**values))


def make_registration(
    session: Session, occurrence: Occurrence, name: str, email: str, organisation: str = ""
) -> Registration:
    """A confirmed sign-up, as if its address had followed the confirmation link."""
    result = meeting_services.register(session, occurrence, name, email, organisation)
    assert result.registration is not None
    meeting_services.confirm_registration(session, result.registration)
    return result.registration
