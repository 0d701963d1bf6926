"""The edited text of a required public page, in Swedish and (optionally) English."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from commsplan.extensions import db
from commsplan.timeutil import utcnow
from commsplan.types import UTCDateTime


class PublicPageKind(enum.StrEnum):
    accessibility = "accessibility"  # tillgänglighetsredogörelse (lag 2018:1937)
    privacy = "privacy"  # information om behandling av personuppgifter (GDPR art. 13–14)


class PublicPage(db.Model):
    """One row per page once an admin has saved it; until then the shipped default is shown.

    An empty English title/body means "use the shipped English default".
    """

    __tablename__ = "public_page"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), unique=True)
    title_sv: Mapped[str] = mapped_column(String(200))
    body_sv: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(String(200), default="")
    body_en: Mapped[str] = mapped_column(Text, default="")
    # Who saved it last, as text: the page outlives the account.
    updated_by: Mapped[str] = mapped_column(String(254), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
