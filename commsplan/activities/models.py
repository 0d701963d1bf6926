"""Communication activities prepared against the plan's checklist.

A checklist template (*Att tänka på vid olika aktivitetsinsatser*, the editorial
assessment …) is an ordered list of questions. Each question has an ``answer_kind``: the
seven plan questions are answered as structured data on the activity (target groups with
a core message and channels each, the purpose, when, who), other questions as text or as
a confirmation. An answer keeps the wording of the question it was given under, so editing
a template never rewrites what was answered before.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from commsplan.auth.models import User
from commsplan.extensions import db
from commsplan.meetings.models import Occurrence
from commsplan.notices.models import Notice
from commsplan.plan.models import Channel, Contact, StakeholderGroup
from commsplan.timeutil import utcnow
from commsplan.types import UTCDateTime, link_table


def _enum(cls: type[enum.Enum]) -> Enum:
    # VARCHAR + CHECK rather than a native type: adding a member needs no ALTER TYPE.
    return Enum(cls, native_enum=False, length=30, validate_strings=True)


class AnswerKind(enum.Enum):
    information_value = "information_value"  # yes/no with why
    target_groups = "target_groups"  # groups directly / indirectly affected
    purpose = "purpose"
    core_messages = "core_messages"  # one wording per target group
    group_channels = "group_channels"  # channels per target group
    timing = "timing"  # a time, or working days before the notice's date
    responsible = "responsible"  # a user or a contact
    text = "text"  # free text
    confirm = "confirm"  # a boundary that must be confirmed


class ActivityKind(enum.Enum):
    release = "release"
    service_window = "service_window"
    outage = "outage"
    meeting = "meeting"
    newsletter = "newsletter"
    routine_change = "routine_change"
    content = "content"
    general = "general"


class ActivityStatus(enum.Enum):
    idea = "idea"
    planned = "planned"
    done = "done"
    dropped = "dropped"


class ChecklistTemplate(db.Model):
    __tablename__ = "checklist_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stable name for the shipped templates ("activity", "editorial"); "" for own ones.
    key: Mapped[str] = mapped_column(String(50), default="")
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)

    questions: Mapped[list[TemplateQuestion]] = relationship(
        back_populates="template", order_by="TemplateQuestion.position", cascade="all, delete-orphan"
    )

    @property
    def active_questions(self) -> list[TemplateQuestion]:
        return [q for q in self.questions if q.retired_at is None]


class TemplateQuestion(db.Model):
    __tablename__ = "template_question"

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(
        ForeignKey("checklist_template.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(Text)
    help_text: Mapped[str] = mapped_column(Text, default="")
    answer_kind: Mapped[AnswerKind] = mapped_column(_enum(AnswerKind), default=AnswerKind.text)
    # Raised on every change of the wording; answers record the version they were given under.
    version: Mapped[int] = mapped_column(Integer, default=1)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    template: Mapped[ChecklistTemplate] = relationship(back_populates="questions")


activity_notice = link_table("activity_notice", ("activity_id", "activity.id"), ("notice_id", "notice.id"))


class Activity(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[ActivityKind] = mapped_column(_enum(ActivityKind), default=ActivityKind.general)
    status: Mapped[ActivityStatus] = mapped_column(_enum(ActivityStatus), default=ActivityStatus.idea)
    drop_reason: Mapped[str] = mapped_column(Text, default="")
    template_id: Mapped[int | None] = mapped_column(ForeignKey("checklist_template.id", ondelete="SET NULL"))
    # Question 1: information value, yes/no with why.
    information_value: Mapped[bool | None] = mapped_column()
    information_value_why: Mapped[str] = mapped_column(Text, default="")
    # Question 3.
    purpose: Mapped[str] = mapped_column(Text, default="")
    # Question 6: a fixed time, or this many working days before the linked notice's date.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    workdays_before: Mapped[int | None] = mapped_column(Integer)
    # Question 7: a user or a contact.
    responsible_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    responsible_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"))
    occurrence_id: Mapped[int | None] = mapped_column(ForeignKey("occurrence.id", ondelete="SET NULL"))
    copied_from_id: Mapped[int | None] = mapped_column(ForeignKey("activity.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    template: Mapped[ChecklistTemplate | None] = relationship()
    notices: Mapped[list[Notice]] = relationship(secondary=activity_notice, order_by="Notice.id")
    occurrence: Mapped[Occurrence | None] = relationship()
    responsible_user: Mapped[User | None] = relationship(foreign_keys=[responsible_user_id])
    responsible_contact: Mapped[Contact | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    groups: Mapped[list[ActivityGroup]] = relationship(
        back_populates="activity", order_by="ActivityGroup.position", cascade="all, delete-orphan"
    )
    answers: Mapped[list[ActivityAnswer]] = relationship(
        back_populates="activity", order_by="ActivityAnswer.position", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Activity {self.id} {self.status.value} {self.title!r}>"


activity_group_channel = link_table(
    "activity_group_channel", ("activity_group_id", "activity_group.id"), ("channel_id", "channel.id")
)


class ActivityGroup(db.Model):
    """A target group of an activity, with its own core message and channels."""

    __tablename__ = "activity_group"
    __table_args__ = (UniqueConstraint("activity_id", "group_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("stakeholder_group.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    directly: Mapped[bool] = mapped_column(default=True)
    core_message: Mapped[str] = mapped_column(Text, default="")

    activity: Mapped[Activity] = relationship(back_populates="groups")
    group: Mapped[StakeholderGroup] = relationship()
    channels: Mapped[list[Channel]] = relationship(secondary=activity_group_channel, order_by="Channel.name")


class ActivityAnswer(db.Model):
    """The answer to one question, with the question's wording at the time."""

    __tablename__ = "activity_answer"
    __table_args__ = (UniqueConstraint("activity_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int | None] = mapped_column(ForeignKey("template_question.id", ondelete="SET NULL"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    question_text: Mapped[str] = mapped_column(Text)
    question_version: Mapped[int] = mapped_column(Integer, default=1)
    text: Mapped[str] = mapped_column(Text, default="")
    confirmed: Mapped[bool] = mapped_column(default=False)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    activity: Mapped[Activity] = relationship(back_populates="answers")
    question: Mapped[TemplateQuestion | None] = relationship()


class ActivitySetting(db.Model):
    """Installation-wide switches an admin changes in the UI (e.g. the publish gate)."""

    __tablename__ = "activity_setting"

    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[object] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
