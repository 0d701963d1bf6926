"""STAND-IN for helper `understanding`'s module (issue 12): the merger REPLACES this file
with theirs. ``map_text`` here matches e-service and system names in the text, no rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from commsplan.plan.models import Service, System


@dataclass(frozen=True)
class Mapping:
    services: list[Service]
    systems: list[System]
    matches: list[tuple[Any, str]]

    @property
    def unmapped(self) -> bool:
        return not (self.services or self.systems)


def map_text(session: Session, subject: str, body: str, national_services: Sequence[str] = ()) -> Mapping:
    text = f"{subject}\n{body}".lower()
    services = [s for s in session.scalars(select(Service).where(Service.in_use())) if s.name.lower() in text]
    systems = [s for s in session.scalars(select(System).where(System.in_use())) if s.name.lower() in text]
    return Mapping(services, systems, [])
