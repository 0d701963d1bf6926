"""Subscriptions to notices, the people who signed up themselves, and what they asked of
the coordinators (opt-outs, "I no longer have this role")."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Select, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from commsplan.auth.models import User
from commsplan.extensions import db
from commsplan.kinds import NoticeKind
from commsplan.plan.models import Contact, Service
from commsplan.timeutil import utcnow
from commsplan.types import UTCDateTime


def _enum(cls: type[enum.Enum]) -> Enum:
    # VARCHAR + CHECK rather than a native type: adding a member needs no ALTER TYPE.
    return Enum(cls, native_enum=False, length=30, validate_strings=True)


class Frequency(enum.Enum):
    """How often a subscription mails: at once, or collected in a digest."""

    immediate = "immediate"
    daily = "daily"
    weekly = "weekly"


class Subscription(db.Model):
    """A contact follows notices: of one kind, about one service, or one kind about one
    service. A column left empty means "all" (never both)."""

    __table_args__ = (UniqueConstraint("contact_id", "service_id", "notice_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    notice_kind: Mapped[NoticeKind | None] = mapped_column(
        Enum(NoticeKind, native_enum=False, length=30, validate_strings=True)
    )
    frequency: Mapped[Frequency] = mapped_column(
        _enum(Frequency), default=Frequency.immediate, server_default=Frequency.immediate.name
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    contact: Mapped[Contact] = relationship()
    service: Mapped[Service | None] = relationship()


class Unsubscribe(db.Model):
    """An address that used an unsubscribe link: it gets no more notices until re-added."""

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # lower case
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SubscriberProfile(db.Model):
    """What a contact chose for themselves: kept apart from the plan's Contact row.

    ``self_subscribed``: the person signed up on /subscribe (and has no unit).
    ``role_digest``: a role-based recipient's choice for releases and general
    information; outages and service windows always reach them at once.
    """

    __tablename__ = "subscriber_profile"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), unique=True)
    self_subscribed: Mapped[bool] = mapped_column(default=False)
    organisation: Mapped[str] = mapped_column(String(200), default="")
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    role_digest: Mapped[Frequency] = mapped_column(
        _enum(Frequency), default=Frequency.immediate, server_default=Frequency.immediate.name
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    contact: Mapped[Contact] = relationship()


class PendingSubscription(db.Model):
    """A sign-up waiting for its confirmation link; only the token's hash is stored."""

    __tablename__ = "pending_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254), index=True)  # lower case
    name: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(5), default="sv")
    # {"services": [ids], "kinds": [values], "frequency": value}
    choices: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AddressMail(db.Model):
    """A sign-up mail sent to an address (hashed): the per-address limit that holds across
    processes, so a form cannot be used to flood someone's mailbox."""

    __tablename__ = "subscription_address_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    email_hash: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class OptOut(db.Model):
    """A person ended subscriptions themselves: coordinators see every one of them."""

    __tablename__ = "subscription_opt_out"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    description: Mapped[str] = mapped_column(Text, default="")
    # "one_click" (List-Unsubscribe POST) or "preferences" (the preferences page)
    via: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    contact: Mapped[Contact | None] = relationship()


class RoleRequest(db.Model):
    """ "Jag har inte längre den här rollen": the person stays on duty mail until a
    coordinator handles the request."""

    __tablename__ = "role_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), index=True)
    roles: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    contact: Mapped[Contact] = relationship()
    handled_by: Mapped[User | None] = relationship()


def self_subscribed_ids() -> Select[tuple[int]]:
    """The contacts who signed up themselves, as a subquery for contact filters."""
    return select(SubscriberProfile.contact_id).where(SubscriberProfile.self_subscribed.is_(True))
