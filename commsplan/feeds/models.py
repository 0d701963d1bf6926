"""Private feed tokens and the cache of rendered feeds.

A feed URL carries a random token instead of a log-in, because calendar programs cannot
log in. Tokens are kept (not hashed) so the subscription link can be shown again on the
page; a coordinator revokes or regenerates a leaked one.
"""

from __future__ import annotations

import enum
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from commsplan.extensions import db
from commsplan.timeutil import utcnow
from commsplan.types import UTCDateTime

# The combined region feed has no target row; 0 keeps (kind, target_id) unique-indexable.
REGION_TARGET = 0


def new_feed_token() -> str:
    return secrets.token_urlsafe(24)


class FeedKind(enum.Enum):
    series = "series"
    contact = "contact"
    region = "region"


class FeedToken(db.Model):
    """The secret part of one private feed URL."""

    __tablename__ = "feed_token"
    __table_args__ = (
        # At most one live token per feed: regenerating revokes the old one first.
        Index(
            "uq_feed_token_live",
            "kind",
            "target_id",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[FeedKind] = mapped_column(
        Enum(FeedKind, native_enum=False, length=20, validate_strings=True)
    )
    target_id: Mapped[int] = mapped_column(Integer, default=REGION_TARGET)
    token: Mapped[str] = mapped_column(String(64), unique=True, default=new_feed_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None


class FeedCache(db.Model):
    """The last rendered body of a feed, valid while its version key (ETag) holds.

    Rendering a large feed with ``icalendar`` takes far longer than a calendar poll
    should; the cache lives in the database so every worker process shares it.
    """

    __tablename__ = "feed_cache"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)  # e.g. "series:12"
    etag: Mapped[str] = mapped_column(String(100))
    last_modified: Mapped[datetime] = mapped_column(UTCDateTime())
    body: Mapped[str] = mapped_column(Text)
    rendered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Invitation(db.Model):
    """That one person was sent one occurrence as an iMIP invitation, and which version.

    Updates and cancellations go to exactly the people whose calendars hold the event,
    with a SEQUENCE above the one they have.
    """

    __tablename__ = "invitation"
    __table_args__ = (UniqueConstraint("occurrence_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurrence_id: Mapped[int] = mapped_column(ForeignKey("occurrence.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))  # lower-case
    name: Mapped[str] = mapped_column(String(200), default="")
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"))
    sequence_sent: Mapped[int] = mapped_column(Integer, default=0)
    # The start the last REQUEST gave, so an update can say where the meeting moved from.
    start_sent: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled: Mapped[bool] = mapped_column(default=False)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SeriesInvitation(db.Model):
    """That one person's calendar holds a whole rule-based series as one recurring event.

    ``state`` records what was last sent: a digest of the recurring event (RRULE,
    skipped dates, series text), the cancelled instances and a digest per moved or
    changed instance (RECURRENCE-ID override). A change is sent only to people whose
    recorded state differs, and only the part that differs.
    """

    __tablename__ = "series_invitation"
    __table_args__ = (UniqueConstraint("series_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("meeting_series.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))  # lower-case
    name: Mapped[str] = mapped_column(String(200), default="")
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"))
    sequence_sent: Mapped[int] = mapped_column(Integer, default=0)
    cancelled: Mapped[bool] = mapped_column(default=False)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
