"""The communication plan as data: stakeholders, recipients, channels, services.

Mirrors the structure of a region's *kommunikationsplan* (seed 003) so the plan
document can always be generated from these rows.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from commsplan.extensions import db
from commsplan.timeutil import utcnow
from commsplan.types import UTCDateTime, link_table


def _enum(cls: type[enum.Enum]) -> Enum:
    # VARCHAR + CHECK rather than a native type: adding a member needs no ALTER TYPE.
    return Enum(cls, native_enum=False, length=30, validate_strings=True)


class Plan(db.Model):
    """The plan itself. One per installation (one region)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    region: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    purpose: Mapped[str] = mapped_column(Text, default="")
    stakeholders_intro: Mapped[str] = mapped_column(Text, default="")
    guidelines_intro: Mapped[str] = mapped_column(Text, default="")
    channels_intro: Mapped[str] = mapped_column(Text, default="")
    responsibility_intro: Mapped[str] = mapped_column(Text, default="")
    dissemination: Mapped[str] = mapped_column(Text, default="")
    collaboration: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[str] = mapped_column(String(50), default="1.0")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    goals: Mapped[list[Goal]] = relationship(
        back_populates="plan", order_by="Goal.position", cascade="all, delete-orphan"
    )
    guidelines: Mapped[list[Guideline]] = relationship(
        back_populates="plan", order_by="Guideline.position", cascade="all, delete-orphan"
    )


class Goal(db.Model):
    """A communication goal (*kommunikationsmål*)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(Text)

    plan: Mapped[Plan] = relationship(back_populates="goals")


class Guideline(db.Model):
    """A guideline the communication follows (*riktlinje*), with a link to it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(300))
    url: Mapped[str] = mapped_column(String(1000), default="")

    plan: Mapped[Plan] = relationship(back_populates="guidelines")


class Retirable:
    """A row that old notices refer to: retired (archived) instead of deleted.

    A retired row is hidden from lists, pickers and the plan document, but published and
    closed notices keep showing its name; it can be restored. See docs/deleting.md.
    """

    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None

    @classmethod
    def in_use(cls) -> Any:
        """The condition for rows that are not retired, for ``select(...).where()``."""
        return cls.retired_at.is_(None)  # type: ignore[attr-defined]


class NeedKind(enum.Enum):
    """How the plan phrases a group's needs: *för att kunna* or *för att få*."""

    able_to = "kunna"
    receive = "få"


class StakeholderGroup(Retirable, db.Model):
    """A target group (*intressent*) with its ordered information needs."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    need_kind: Mapped[NeedKind] = mapped_column(_enum(NeedKind), default=NeedKind.able_to)
    description: Mapped[str] = mapped_column(Text, default="")

    needs: Mapped[list[InformationNeed]] = relationship(
        back_populates="group", order_by="InformationNeed.position", cascade="all, delete-orphan"
    )
    contacts: Mapped[list[Contact]] = relationship(
        secondary="contact_stakeholder_group", back_populates="groups", order_by="Contact.name"
    )


class InformationNeed(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("stakeholder_group.id"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(Text)

    group: Mapped[StakeholderGroup] = relationship(back_populates="needs")


class UnitKind(enum.Enum):
    administration = "administration"  # förvaltning / verksamhet
    system_object = "system_object"  # systemförvaltningsobjekt
    external = "external"


class Unit(db.Model):
    """An organisational unit or a system-management object."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[UnitKind] = mapped_column(_enum(UnitKind), default=UnitKind.administration)
    description: Mapped[str] = mapped_column(Text, default="")

    recipients: Mapped[list[Recipient]] = relationship(back_populates="unit")
    contacts: Mapped[list[Contact]] = relationship(back_populates="unit")


class ChannelKind(enum.Enum):
    email = "email"
    ticket_system = "ticket_system"
    intranet = "intranet"
    collaboration_web = "collaboration_web"
    social_media = "social_media"
    web_page = "web_page"
    status_page = "status_page"
    meeting = "meeting"
    phone = "phone"


class Channel(db.Model):
    """A way of reaching people: a mailbox, Easit, the intranet, a network meeting…"""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[ChannelKind] = mapped_column(_enum(ChannelKind))
    address: Mapped[str] = mapped_column(String(1000), default="")
    audience: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")


class Recipient(db.Model):
    """A row of *Mottagare av information*: a unit and the role that receives for it."""

    __table_args__ = (UniqueConstraint("unit_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    role: Mapped[str] = mapped_column(String(200))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channel.id"))
    contact_route: Mapped[str] = mapped_column(String(500), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)

    unit: Mapped[Unit] = relationship(back_populates="recipients")
    channel: Mapped[Channel | None] = relationship()


contact_stakeholder_group = link_table(
    "contact_stakeholder_group", ("contact_id", "contact.id"), ("group_id", "stakeholder_group.id")
)


class Contact(db.Model):
    """A person who may receive notices."""

    # Every list of contacts is ordered by name (and id, for a stable page): with the index
    # a page of 50 reads 50 rows instead of sorting the region's thousands on each visit.
    __table_args__ = (Index("ix_contact_name_id", "name", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    phone: Mapped[str] = mapped_column(String(50), default="")
    # Indexed: audiences resolve contacts by unit, and the unit list counts them per unit.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    role: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(5), default="sv")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    unit: Mapped[Unit | None] = relationship(back_populates="contacts")
    groups: Mapped[list[StakeholderGroup]] = relationship(
        secondary=contact_stakeholder_group, back_populates="contacts", order_by="StakeholderGroup.position"
    )


class System(Retirable, db.Model):
    """A system an e-service runs against (EPJ, T4, Prosang …), owned by a system object."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    object_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))

    object_unit: Mapped[Unit | None] = relationship()


class Service(Retirable, db.Model):
    """An e-service (*e-tjänst*): Webbtidbok, Journalen, Behörigheter …"""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)

    responsibilities: Mapped[list[Responsibility]] = relationship(
        back_populates="service", order_by="Responsibility.position", cascade="all, delete-orphan"
    )


class Responsibility(db.Model):
    """A row of the responsibility table: service × system → responsible, contact, comment."""

    __table_args__ = (UniqueConstraint("service_id", "system_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    system_id: Mapped[int | None] = mapped_column(ForeignKey("system.id"))
    responsible_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channel.id"))
    contact_route: Mapped[str] = mapped_column(String(500), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)

    service: Mapped[Service] = relationship(back_populates="responsibilities")
    system: Mapped[System | None] = relationship()
    responsible_unit: Mapped[Unit | None] = relationship()
    channel: Mapped[Channel | None] = relationship()


class Dependency(db.Model):
    """The e-services (or one of them) depend on a system: a fault there is felt here."""

    __table_args__ = (UniqueConstraint("service_id", "system_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # None: the e-services as a whole (*Invånartjänster e-hälsa har beroenden till …*).
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id"))
    system_id: Mapped[int] = mapped_column(ForeignKey("system.id"))
    note: Mapped[str] = mapped_column(Text, default="")

    service: Mapped[Service | None] = relationship()
    system: Mapped[System] = relationship()


class Collaboration(db.Model):
    """A standing collaboration (*samverkan*) and how often it meets."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    cadence: Mapped[str] = mapped_column(String(200), default="")
    participants: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
