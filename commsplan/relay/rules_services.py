"""Mapping rules at work: which of the region's e-services and systems a national text is
about, and creating, changing and removing the rules themselves."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from commsplan.auth.models import User
from commsplan.plan.crud import Page, paginate
from commsplan.plan.models import Service, System
from commsplan.relay.rules import MappingRule

# Rules are matched against this much of a text: national mails put the facts first.
MAX_TEXT = 50_000


class RuleError(ValueError):
    """A rule that cannot be stored; ``str()`` is for the coordinator."""


@dataclass(frozen=True)
class Mapping:
    services: list[Service] = field(default_factory=list)
    systems: list[System] = field(default_factory=list)
    matches: list[tuple[MappingRule, str]] = field(default_factory=list)

    @property
    def unmapped(self) -> bool:
        """Nothing matched: the item needs a coordinator (and perhaps a new rule)."""
        return not self.matches


@dataclass(frozen=True)
class RuleData:
    pattern: str
    service_id: int | None = None
    system_id: int | None = None
    note: str = ""


def normalise_pattern(pattern: str) -> str:
    return " ".join(pattern.split())


def rule_regex(pattern: str) -> re.Pattern[str]:
    """``pattern`` as whole words, any case, any run of whitespace between its words."""
    words = normalise_pattern(pattern).split(" ")
    return re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, words)) + r"(?!\w)", re.IGNORECASE)


def active_rules(session: Session) -> list[MappingRule]:
    """Rules whose targets are in use: a retired e-service receives nothing new."""
    stmt = (
        select(MappingRule)
        .outerjoin(Service, MappingRule.service_id == Service.id)
        .outerjoin(System, MappingRule.system_id == System.id)
        .where(
            or_(MappingRule.service_id.is_(None), Service.in_use()),
            or_(MappingRule.system_id.is_(None), System.in_use()),
        )
        .options(selectinload(MappingRule.service), selectinload(MappingRule.system))
        .order_by(MappingRule.id)
    )
    return list(session.scalars(stmt))


def map_text(session: Session, subject: str, body: str, national_services: Sequence[str] = ()) -> Mapping:
    """The region's e-services and systems that ``subject``, ``body`` and the national
    service names found in them point at, through the mapping rules."""
    texts = [subject or "", (body or "")[:MAX_TEXT], *national_services]
    services: dict[int, Service] = {}
    systems: dict[int, System] = {}
    matches: list[tuple[MappingRule, str]] = []
    for rule in active_rules(session):
        if not normalise_pattern(rule.pattern):
            continue
        regex = rule_regex(rule.pattern)
        found = next((m.group() for text in texts if (m := regex.search(text))), None)
        if found is None:
            continue
        matches.append((rule, found))
        if rule.service is not None:
            services.setdefault(rule.service.id, rule.service)
        if rule.system is not None:
            systems.setdefault(rule.system.id, rule.system)
    return Mapping(list(services.values()), list(systems.values()), matches)


def _rules_query(text: str = "") -> Select[tuple[MappingRule]]:
    stmt = (
        select(MappingRule)
        .options(selectinload(MappingRule.service), selectinload(MappingRule.system))
        .order_by(func.lower(MappingRule.pattern), MappingRule.id)
    )
    text = text.strip()
    if text:
        # SQLite folds only ASCII case in LIKE: the usual casings cover "Stöd"/"stöd".
        variants = dict.fromkeys([text, text.lower(), text.upper(), text.capitalize()])
        stmt = stmt.outerjoin(Service, MappingRule.service_id == Service.id).outerjoin(
            System, MappingRule.system_id == System.id
        )
        columns = (MappingRule.pattern, MappingRule.note, Service.name, System.name)
        stmt = stmt.where(or_(*(c.icontains(v, autoescape=True) for c in columns for v in variants)))
    return stmt


def list_rules(session: Session) -> list[MappingRule]:
    return list(session.scalars(_rules_query()))


def search_rules(session: Session, text: str = "", page: int = 1, per_page: int = 50) -> Page[MappingRule]:
    """One page of the rules whose pattern, note or target contains ``text`` (any case)."""
    return paginate(session, _rules_query(text), page, per_page)


def _check(session: Session, data: RuleData, rule: MappingRule | None = None) -> str:
    pattern = normalise_pattern(data.pattern)
    if not pattern:
        raise RuleError(_("Ange ett ord eller en beteckning att känna igen."))
    if data.service_id is None and data.system_id is None:
        raise RuleError(_("Välj en e-tjänst, ett system eller båda."))
    if data.service_id is not None and session.get(Service, data.service_id) is None:
        raise RuleError(_("E-tjänsten finns inte."))
    if data.system_id is not None and session.get(System, data.system_id) is None:
        raise RuleError(_("Systemet finns inte."))
    for other in session.scalars(
        select(MappingRule).where(
            MappingRule.service_id.is_(data.service_id)
            if data.service_id is None
            else MappingRule.service_id == data.service_id,
            MappingRule.system_id.is_(data.system_id)
            if data.system_id is None
            else MappingRule.system_id == data.system_id,
        )
    ):
        if other is not rule and normalise_pattern(other.pattern).casefold() == pattern.casefold():
            raise RuleError(_("En likadan regel finns redan."))
    return pattern


def create_rule(session: Session, data: RuleData, user: User | None) -> MappingRule:
    pattern = _check(session, data)
    rule = MappingRule(
        pattern=pattern,
        service_id=data.service_id,
        system_id=data.system_id,
        note=data.note.strip(),
        created_by=user,
    )
    session.add(rule)
    session.flush()
    return rule


def update_rule(session: Session, rule: MappingRule, data: RuleData) -> MappingRule:
    rule.pattern = _check(session, data, rule)
    rule.service_id, rule.system_id, rule.note = data.service_id, data.system_id, data.note.strip()
    session.flush()
    session.expire(rule, ["service", "system"])
    return rule


def delete_rule(session: Session, rule: MappingRule) -> None:
    session.delete(rule)
    session.flush()
