"""The lease per job and one row per job and due time (slot)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from commsplan.extensions import db
from commsplan.types import UTCDateTime


class ScheduledJob(db.Model):
    """One row per job name. ``holder`` and ``lease_until`` are the lease: a worker takes
    it with one conditional UPDATE (free, or expired after a crash) before it looks at the
    slot, so two workers never run the same job at once. ``last_*`` summarise the latest
    run for ``flask commsplan jobs``."""

    __tablename__ = "scheduled_job"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_slot: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_ok: Mapped[bool | None] = mapped_column()
    last_result: Mapped[str | None] = mapped_column(String(500))


class RunState(enum.Enum):
    running = "running"
    done = "done"
    failed = "failed"


class ScheduledJobRun(db.Model):
    """The run of one job for one due time. Unique per (name, slot): the second guard
    behind the lease, and the record that shows each slot ran once."""

    __tablename__ = "scheduled_job_run"
    __table_args__ = (UniqueConstraint("name", "slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    slot: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[RunState] = mapped_column(
        Enum(RunState, native_enum=False, length=20, validate_strings=True)
    )
    holder: Mapped[str] = mapped_column(String(120))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    result: Mapped[str | None] = mapped_column(String(500))
