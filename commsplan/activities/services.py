"""Activities and their checklist: templates, answers, completeness, status, the publish
gate. Functions take an explicit session and never commit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any, NamedTuple

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from commsplan.activities.defaults import ACTIVITY_TEMPLATE_KEY, TEMPLATES
from commsplan.activities.models import (
    Activity,
    ActivityAnswer,
    ActivityGroup,
    ActivityKind,
    ActivitySetting,
    ActivityStatus,
    AnswerKind,
    ChecklistTemplate,
    TemplateQuestion,
    activity_group_channel,
    activity_notice,
)
from commsplan.auth.models import User
from commsplan.meetings.models import MeetingSeries, Occurrence
from commsplan.notices.mail import one_line
from commsplan.notices.models import Notice, NoticeKind, NoticeStatus
from commsplan.plan.models import Channel, Contact, Service, StakeholderGroup
from commsplan.timeutil import STOCKHOLM, utcnow, working_days_before
from commsplan.wording.services import GroupWording, choose, choose_by_names

GATE_SETTING = "gate_enabled"
# Notice kinds that need a prepared activity before they go out; an outage goes first.
GATED_KINDS = (NoticeKind.release, NoticeKind.service_window, NoticeKind.general)


class ActivityError(ValueError):
    """A change the activity or template does not allow; ``field`` names the input at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# --- templates ---------------------------------------------------------------------------


def ensure_default_templates(session: Session) -> int:
    """Add the shipped templates that are missing (by key); returns how many were added."""
    added = 0
    existing = set(session.scalars(select(ChecklistTemplate.key)))
    for position, (key, name, description, questions) in enumerate(TEMPLATES, 1):
        if key in existing:
            continue
        template = ChecklistTemplate(key=key, name=name, description=description, position=position)
        template.questions = [
            TemplateQuestion(position=i, text=text, answer_kind=kind)
            for i, (text, kind) in enumerate(questions, 1)
        ]
        session.add(template)
        added += 1
    session.flush()
    return added


def _shipped(template: ChecklistTemplate) -> tuple[str, str] | None:
    return next(((name, text) for key, name, text, _q in TEMPLATES if key == template.key), None)


def template_name(template: ChecklistTemplate) -> str:
    """A shipped template's name in the reader's language, unless an admin renamed it."""
    shipped = _shipped(template)
    return _(template.name) if shipped and shipped[0] == template.name else template.name


def template_description(template: ChecklistTemplate) -> str:
    shipped = _shipped(template)
    return _(template.description) if shipped and shipped[1] == template.description else template.description


def list_templates(session: Session) -> list[ChecklistTemplate]:
    return list(
        session.scalars(
            select(ChecklistTemplate)
            .options(selectinload(ChecklistTemplate.questions))
            .order_by(ChecklistTemplate.position, ChecklistTemplate.id)
        )
    )


def default_template(session: Session) -> ChecklistTemplate:
    template = session.scalar(select(ChecklistTemplate).where(ChecklistTemplate.key == ACTIVITY_TEMPLATE_KEY))
    if template is None:
        ensure_default_templates(session)
        template = session.scalar(
            select(ChecklistTemplate).where(ChecklistTemplate.key == ACTIVITY_TEMPLATE_KEY)
        )
    assert template is not None
    return template


def add_question(
    session: Session, template: ChecklistTemplate, text: str, kind: AnswerKind = AnswerKind.text
) -> TemplateQuestion:
    text = (text or "").strip()
    if not text:
        raise ActivityError(_("Skriv frågan."), "text")
    position = max((q.position for q in template.questions), default=0) + 1
    question = TemplateQuestion(template=template, position=position, text=text, answer_kind=kind)
    session.add(question)
    session.flush()
    return question


def edit_question(session: Session, question: TemplateQuestion, text: str, help_text: str = "") -> None:
    """Change the wording. Answers already given keep the wording they were given under."""
    text = (text or "").strip()
    if not text:
        raise ActivityError(_("Skriv frågan."), "text")
    if text != question.text:
        question.text = text
        question.version += 1
    question.help_text = (help_text or "").strip()
    session.flush()


def move_question(session: Session, question: TemplateQuestion, step: int) -> None:
    """Swap with the neighbour above (step -1) or below (+1)."""
    ordered = list(question.template.questions)
    index = ordered.index(question)
    other = index + step
    if 0 <= other < len(ordered):
        ordered[index], ordered[other] = ordered[other], ordered[index]
        for position, item in enumerate(ordered, 1):
            item.position = position
        question.template.questions.sort(key=lambda q: q.position)
    session.flush()


def retire_question(session: Session, question: TemplateQuestion, retired: bool = True) -> None:
    """A retired question is no longer asked; answers to it stay with their activities."""
    question.retired_at = utcnow() if retired else None
    session.flush()


# --- activities --------------------------------------------------------------------------


@dataclass
class GroupAnswer:
    group_id: int
    directly: bool = True
    core_message: str = ""
    channel_ids: list[int] = field(default_factory=list)


@dataclass
class ActivityData:
    """The editable fields of an activity and its checklist, from a form or the API."""

    title: str
    kind: ActivityKind = ActivityKind.general
    template_id: int | None = None
    information_value: bool | None = None
    information_value_why: str = ""
    purpose: str = ""
    due_at: datetime | None = None
    workdays_before: int | None = None
    responsible_user_id: int | None = None
    responsible_contact_id: int | None = None
    occurrence_id: int | None = None
    notice_ids: list[int] = field(default_factory=list)
    groups: list[GroupAnswer] = field(default_factory=list)
    # Answers to text and confirmation questions: question id -> (text, confirmed).
    answers: dict[int, tuple[str, bool]] = field(default_factory=dict)


def _get(session: Session, model: type, ident: int | None, field_name: str) -> Any:
    if ident is None:
        return None
    row = session.get(model, ident)
    if row is None:
        raise ActivityError(_("Okänt val."), field_name)
    return row


def _apply(session: Session, activity: Activity, data: ActivityData) -> None:
    title = one_line(data.title)
    if not title:
        raise ActivityError(_("Ange en rubrik."), "title")
    if data.workdays_before is not None and not 0 <= data.workdays_before <= 250:
        raise ActivityError(_("Ange mellan 0 och 250 arbetsdagar."), "workdays_before")
    if data.responsible_user_id and data.responsible_contact_id:
        raise ActivityError(_("Välj en användare eller en kontakt som ansvarig, inte båda."), "responsible")
    activity.title = title[:200]
    activity.kind = data.kind
    activity.template = _get(session, ChecklistTemplate, data.template_id, "template") or (
        activity.template or default_template(session)
    )
    activity.information_value = data.information_value
    activity.information_value_why = (data.information_value_why or "").strip()
    activity.purpose = (data.purpose or "").strip()
    activity.due_at = data.due_at
    activity.workdays_before = data.workdays_before
    activity.responsible_user = _get(session, User, data.responsible_user_id, "responsible")
    activity.responsible_contact = _get(session, Contact, data.responsible_contact_id, "responsible")
    activity.occurrence = _get(session, Occurrence, data.occurrence_id, "occurrence")
    notices = [_get(session, Notice, notice_id, "notices") for notice_id in dict.fromkeys(data.notice_ids)]
    activity.notices = notices
    _apply_groups(session, activity, data.groups)
    # Core messages live in ActivityGroup rows: the activity counts as changed too, so
    # the public status page (which shows them) gets a new version.
    activity.updated_at = utcnow()
    session.flush()
    _record_answers(session, activity, data.answers)


def _apply_groups(session: Session, activity: Activity, answers: list[GroupAnswer]) -> None:
    by_group = {row.group_id: row for row in activity.groups}
    kept = []
    for position, answer in enumerate(answers, 1):
        group = _get(session, StakeholderGroup, answer.group_id, "groups")
        row = by_group.get(group.id) or ActivityGroup(group=group)
        row.position = position
        row.directly = answer.directly
        row.core_message = (answer.core_message or "").strip()
        channel_ids = list(dict.fromkeys(answer.channel_ids))
        row.channels = (
            list(session.scalars(select(Channel).where(Channel.id.in_(channel_ids)))) if channel_ids else []
        )
        if len(row.channels) != len(channel_ids):
            raise ActivityError(_("Okänd kanal."), "groups")
        kept.append(row)
    activity.groups = kept


def _summary(
    activity: Activity, question: TemplateQuestion, given: tuple[str, bool] | None
) -> tuple[str, bool]:
    """The answer to ``question`` as text (kept with the question's wording)."""
    kind = question.answer_kind
    if kind is AnswerKind.information_value:
        if activity.information_value is None:
            return "", False
        verdict = _("Ja") if activity.information_value else _("Nej")
        return f"{verdict}: {activity.information_value_why}".strip(": "), False
    if kind is AnswerKind.target_groups:
        return "; ".join(
            f"{g.group.name} ({_('direkt') if g.directly else _('indirekt')})" for g in activity.groups
        ), False
    if kind is AnswerKind.purpose:
        return activity.purpose, False
    if kind is AnswerKind.core_messages:
        return "\n".join(
            f"{g.group.name}: {g.core_message}" for g in activity.groups if g.core_message
        ), False
    if kind is AnswerKind.group_channels:
        return "; ".join(
            f"{g.group.name}: {', '.join(c.name for c in g.channels)}" for g in activity.groups if g.channels
        ), False
    if kind is AnswerKind.timing:
        return timing_text(activity), False
    if kind is AnswerKind.responsible:
        return responsible_name(activity), False
    text, confirmed = given if given is not None else ("", False)
    return (text or "").strip(), bool(confirmed) if kind is AnswerKind.confirm else False


def _record_answers(session: Session, activity: Activity, given: dict[int, tuple[str, bool]]) -> None:
    """Store each active question's answer. An unchanged answer keeps the wording it was
    given under; a changed one is recorded under the question's current wording."""
    if activity.template is None:
        return
    existing = {a.question_id: a for a in activity.answers}
    for question in activity.template.active_questions:
        previous = existing.get(question.id)
        fallback = (previous.text, previous.confirmed) if previous is not None else None
        text, confirmed = _summary(activity, question, given.get(question.id, fallback))
        if previous is None:
            if not text and not confirmed:
                continue
            previous = ActivityAnswer(activity=activity, question=question)
            session.add(previous)
        elif previous.text == text and previous.confirmed == confirmed:
            previous.position = question.position
            continue
        previous.position = question.position
        previous.question_text = question.text
        previous.question_version = question.version
        previous.text = text
        previous.confirmed = confirmed
        previous.answered_at = utcnow()
    session.flush()


def create_activity(session: Session, data: ActivityData, author: User | None) -> Activity:
    activity = Activity(title="", status=ActivityStatus.idea, created_by=author)
    session.add(activity)
    _apply(session, activity, data)
    return activity


def update_activity(session: Session, activity: Activity, data: ActivityData) -> Activity:
    _apply(session, activity, data)
    if activity.status is ActivityStatus.planned and missing_answers(activity):
        activity.status = ActivityStatus.idea
    return activity


def data_from_activity(activity: Activity) -> ActivityData:
    return ActivityData(
        title=activity.title,
        kind=activity.kind,
        template_id=activity.template_id,
        information_value=activity.information_value,
        information_value_why=activity.information_value_why,
        purpose=activity.purpose,
        due_at=activity.due_at,
        workdays_before=activity.workdays_before,
        responsible_user_id=activity.responsible_user_id,
        responsible_contact_id=activity.responsible_contact_id,
        occurrence_id=activity.occurrence_id,
        notice_ids=[n.id for n in activity.notices],
        groups=[
            GroupAnswer(g.group_id, g.directly, g.core_message, [c.id for c in g.channels])
            for g in activity.groups
        ],
        answers={a.question_id: (a.text, a.confirmed) for a in activity.answers if a.question_id},
    )


def copy_activity(session: Session, activity: Activity, author: User | None) -> Activity:
    """A new idea with the same checklist answers (the monthly release follows one
    pattern): no linked notice, meeting or fixed date, which belong to the original."""
    data = data_from_activity(activity)
    data.title = _("%(title)s (kopia)", title=activity.title)
    data.notice_ids = []
    data.occurrence_id = None
    data.due_at = None
    copy = create_activity(session, data, author)
    copy.copied_from_id = activity.id
    session.flush()
    return copy


def delete_activity(session: Session, activity: Activity) -> None:
    session.delete(activity)
    session.flush()


# --- completeness and status -------------------------------------------------------------


def _missing_for(activity: Activity, question: TemplateQuestion) -> list[str]:
    kind = question.answer_kind
    text = question.text
    if kind is AnswerKind.information_value:
        if activity.information_value is None or not activity.information_value_why:
            return [_("%(question)s – svara ja eller nej och varför.", question=text)]
    elif kind is AnswerKind.target_groups:
        if not activity.groups:
            return [_("%(question)s – välj minst en målgrupp.", question=text)]
    elif kind is AnswerKind.purpose:
        if not activity.purpose:
            return [text]
    elif kind is AnswerKind.core_messages:
        if not activity.groups:
            return [text]
        return [
            _("%(question)s – kärnbudskap saknas för %(group)s.", question=text, group=g.group.name)
            for g in activity.groups
            if not g.core_message
        ]
    elif kind is AnswerKind.group_channels:
        if not activity.groups:
            return [text]
        return [
            _("%(question)s – kanal saknas för %(group)s.", question=text, group=g.group.name)
            for g in activity.groups
            if not g.channels
        ]
    elif kind is AnswerKind.timing:
        if activity.due_at is None and activity.workdays_before is None:
            return [text]
    elif kind is AnswerKind.responsible:
        if activity.responsible_user_id is None and activity.responsible_contact_id is None:
            return [text]
    else:
        answer = next((a for a in activity.answers if a.question_id == question.id), None)
        if kind is AnswerKind.confirm and not (answer and answer.confirmed):
            return [_("%(question)s – bekräfta.", question=text)]
        if kind is AnswerKind.text and not (answer and answer.text):
            return [text]
    return []


def missing_answers(activity: Activity) -> list[str]:
    """The answers the checklist still lacks, one line each, in the template's order."""
    if activity.template is None:
        return [_("Aktiviteten har ingen checklista.")]
    return [line for q in activity.template.active_questions for line in _missing_for(activity, q)]


def is_complete(activity: Activity) -> bool:
    return not missing_answers(activity)


def set_status(session: Session, activity: Activity, status: ActivityStatus, reason: str = "") -> None:
    """idea → planned (needs a complete checklist) → done; dropped needs a reason."""
    if status is ActivityStatus.planned:
        missing = missing_answers(activity)
        if missing:
            raise ActivityError(
                _("Checklistan är inte komplett. Saknas: %(missing)s", missing=" ".join(missing)), "status"
            )
    elif status is ActivityStatus.done and activity.status is not ActivityStatus.planned:
        raise ActivityError(_("Bara en planerad aktivitet kan markeras som genomförd."), "status")
    elif status is ActivityStatus.dropped:
        reason = (reason or "").strip()
        if not reason:
            raise ActivityError(_("Ange varför aktiviteten inte blir av."), "reason")
        activity.drop_reason = reason
    if status is not ActivityStatus.dropped:
        activity.drop_reason = ""
    activity.status = status
    session.flush()


# --- timing and people -------------------------------------------------------------------


def anchor_of_notice(notice: Notice) -> datetime | None:
    """A window's or outage's start, or a release's date (at 09:00 Swedish time)."""
    if notice.starts_at is not None:
        return notice.starts_at
    if notice.release_date is not None:
        return datetime.combine(notice.release_date, time(9, 0), tzinfo=STOCKHOLM)
    return None


def anchor(activity: Activity) -> datetime | None:
    """The release date or window/outage start of the first linked notice that has one."""
    for notice in activity.notices:
        moment = anchor_of_notice(notice)
        if moment is not None:
            return moment
    if activity.occurrence is not None:
        return activity.occurrence.start
    return None


def due(activity: Activity) -> datetime | None:
    """When the information is to be given: the fixed time, or N working days before."""
    if activity.due_at is not None:
        return activity.due_at
    start = anchor(activity)
    if activity.workdays_before is None or start is None:
        return None
    local = start.astimezone(STOCKHOLM)
    day = working_days_before(local.date(), activity.workdays_before)
    return datetime.combine(day, local.time(), tzinfo=STOCKHOLM)


def timing_text(activity: Activity) -> str:
    if activity.due_at is not None:
        return activity.due_at.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")
    if activity.workdays_before is not None:
        return _("%(count)d arbetsdagar före", count=activity.workdays_before)
    return ""


def responsible_name(activity: Activity) -> str:
    if activity.responsible_user is not None:
        return activity.responsible_user.name or activity.responsible_user.email
    if activity.responsible_contact is not None:
        return activity.responsible_contact.name
    return ""


def channel_suggestions(session: Session, exclude_activity_id: int | None = None) -> dict[int, list[str]]:
    """Per stakeholder group, the channels earlier activities used for it, most used first."""
    rows = session.execute(
        select(ActivityGroup.group_id, Channel.name, func.count())
        .join(activity_group_channel, activity_group_channel.c.activity_group_id == ActivityGroup.id)
        .join(Channel, Channel.id == activity_group_channel.c.channel_id)
        .where(ActivityGroup.activity_id != (exclude_activity_id or 0))
        .group_by(ActivityGroup.group_id, Channel.name)
        .order_by(ActivityGroup.group_id, func.count().desc(), Channel.name)
    )
    suggestions: dict[int, list[str]] = {}
    for group_id, name, _count in rows:
        suggestions.setdefault(group_id, []).append(name)
    return suggestions


# --- reading -----------------------------------------------------------------------------


def list_activities(
    session: Session,
    status: ActivityStatus | None = None,
    kind: ActivityKind | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Activity]:
    """Newest first, with what ``missing_answers`` reads loaded up front (no query per row)."""
    query = with_checklist(select(Activity)).order_by(Activity.updated_at.desc(), Activity.id.desc())
    if status is not None:
        query = query.where(Activity.status == status)
    if kind is not None:
        query = query.where(Activity.kind == kind)
    return list(session.scalars(query.limit(limit).offset(offset)))


def with_checklist(query: Any) -> Any:
    """Load what ``missing_answers`` and the notice pages read, so a list costs no query per row."""
    return query.options(
        selectinload(Activity.notices).selectinload(Notice.services),
        selectinload(Activity.template).selectinload(ChecklistTemplate.questions),
        selectinload(Activity.groups).selectinload(ActivityGroup.group),
        selectinload(Activity.groups).selectinload(ActivityGroup.channels),
        selectinload(Activity.answers),
    )


def activities_for_notice(session: Session, notice: Notice) -> list[Activity]:
    return activities_by_notice(session, [notice.id]).get(notice.id, [])


def activities_by_notice(
    session: Session, notice_ids: list[int], live: bool = False
) -> dict[int, list[Activity]]:
    """The activities linked to each notice, in one query; ``live`` leaves dropped ones out."""
    if not notice_ids:
        return {}
    query = (
        select(activity_notice.c.notice_id, Activity)
        .join(activity_notice, activity_notice.c.activity_id == Activity.id)
        .where(activity_notice.c.notice_id.in_(notice_ids))
        .order_by(Activity.id)
    )
    if live:
        query = query.where(Activity.status != ActivityStatus.dropped)
    found: dict[int, list[Activity]] = {}
    for notice_id, activity in session.execute(with_checklist(query)):
        found.setdefault(notice_id, []).append(activity)
    return found


def prepared(activities: list[Activity]) -> bool:
    """Whether one of a notice's live activities has a complete checklist."""
    return any(a.status is not ActivityStatus.dropped and is_complete(a) for a in activities)


# --- the publish gate --------------------------------------------------------------------


def gate_enabled(session: Session, config: Any) -> bool:
    """On unless the installation (``ACTIVITY_GATE``) or an admin turned it off."""
    if not config.get("ACTIVITY_GATE", True):
        return False
    setting = session.get(ActivitySetting, GATE_SETTING)
    return setting is None or bool(setting.value)


def set_gate(session: Session, enabled: bool) -> None:
    setting = session.get(ActivitySetting, GATE_SETTING)
    if setting is None:
        setting = ActivitySetting(key=GATE_SETTING, value=enabled)
        session.add(setting)
    setting.value = enabled
    session.flush()


def gate_blockers(session: Session, notice: Notice, config: Any) -> dict[str, str]:
    """Why ``notice`` may not be published yet; {} if the gate lets it through."""
    if notice.kind not in GATED_KINDS or not gate_enabled(session, config):
        return {}
    activities = [a for a in activities_for_notice(session, notice) if a.status is not ActivityStatus.dropped]
    if not activities:
        return {
            "activity": _(
                "Koppla meddelandet till en aktivitet med komplett checklista innan det publiceras."
            )
        }
    if any(is_complete(a) for a in activities):
        return {}
    first = activities[0]
    return {
        "activity": _(
            "Checklistan för aktiviteten %(title)s är inte komplett. Saknas: %(missing)s",
            title=first.title,
            missing=" ".join(missing_answers(first)),
        )
    }


def outages_awaiting_checklist(session: Session, limit: int = 50) -> list[Notice]:
    """Outages that went out first and still lack a linked activity with a complete checklist."""
    outages = list(
        session.scalars(
            select(Notice)
            .where(Notice.kind == NoticeKind.outage, Notice.published_at.is_not(None))
            .order_by(Notice.published_at.desc())
            .limit(limit * 4)
        )
    )
    linked = activities_by_notice(session, [n.id for n in outages], live=True)
    return [n for n in outages if not prepared(linked.get(n.id, []))][:limit]


def group_wordings(session: Session, notice_id: int) -> list[GroupWording]:
    """The per-group core messages of the live activities linked to a notice, activity by
    activity in the activity's own order of its groups: the source notices mail uses."""
    return _wordings_of(activities_by_notice(session, [notice_id], live=True).get(notice_id, []))


def _wordings_of(activities: list[Activity]) -> list[GroupWording]:
    return [
        GroupWording(g.group_id, g.group.name, g.core_message)
        for activity in activities
        for g in activity.groups
        if g.core_message.strip()
    ]


def last_activity_change() -> Any:
    """When any activity last changed, as a scalar subquery (public page versions)."""
    return select(func.max(Activity.updated_at)).scalar_subquery()


def wording_for_groups(session: Session, notice: Notice, group_names: list[str]) -> str | None:
    """The core message a linked activity holds for the first of ``group_names`` it has."""
    chosen = choose_by_names(group_wordings(session, notice.id), group_names)
    return chosen.text if chosen else None


def wordings_for_groups(session: Session, notices: list[Notice], group_names: list[str]) -> dict[int, str]:
    """``wording_for_groups`` for many notices in one round of queries: notice id → wording."""
    found = {}
    linked = activities_by_notice(session, [n.id for n in notices], live=True)
    for notice_id, activities in linked.items():
        if chosen := choose_by_names(_wordings_of(activities), group_names):
            found[notice_id] = chosen.text
    return found


def wording_for_contact(session: Session, notice: Notice, contact: Contact) -> str | None:
    """The core message for the contact's first stakeholder group that a linked activity
    words separately (care staff get the staff wording); None if there is none."""
    chosen = choose(group_wordings(session, notice.id), [g.id for g in contact.groups])
    return chosen.text if chosen else None


# --- what the pages offer to choose from ---------------------------------------------------


class NoticeChoice(NamedTuple):
    id: int
    title: str


class OccurrenceChoice(NamedTuple):
    id: int
    series_title: str
    start: datetime


class PersonChoice(NamedTuple):
    id: int
    name: str
    email: str


@dataclass(frozen=True)
class FormOptions:
    """The choices of the activity form (recent notices, coming meetings, people), as the
    columns the pickers show: hundreds of whole notices and contacts, bodies and all, were
    half of the form's time."""

    groups: list[StakeholderGroup]
    channels: list[Channel]
    notices: list[NoticeChoice]
    occurrences: list[OccurrenceChoice]
    users: list[PersonChoice]
    contacts: list[PersonChoice]


def groups_in_use(session: Session) -> list[StakeholderGroup]:
    return list(
        session.scalars(
            select(StakeholderGroup).where(StakeholderGroup.in_use()).order_by(StakeholderGroup.position)
        )
    )


def all_channels(session: Session) -> list[Channel]:
    return list(session.scalars(select(Channel).order_by(Channel.name)))


def services_in_use(session: Session) -> list[Service]:
    return list(
        session.scalars(select(Service).where(Service.in_use()).order_by(Service.position, Service.name))
    )


def form_options(session: Session, activity: Activity | None, now: datetime) -> FormOptions:
    """What the form offers; the activity's own notices and meeting stay choosable even
    when they fall outside the latest 200 notices or the coming 100 meetings."""
    notices = [
        NoticeChoice(*row)
        for row in session.execute(
            select(Notice.id, Notice.title)
            .where(Notice.status != NoticeStatus.cancelled)
            .order_by(Notice.id.desc())
            .limit(200)
        )
    ]
    occurrences = [
        OccurrenceChoice(*row)
        for row in session.execute(
            select(Occurrence.id, MeetingSeries.title, Occurrence.start)
            .join(MeetingSeries, MeetingSeries.id == Occurrence.series_id)
            .where(Occurrence.start >= now)
            .order_by(Occurrence.start)
            .limit(100)
        )
    ]
    if activity is not None:
        shown = {n.id for n in notices}
        notices += [NoticeChoice(n.id, n.title) for n in activity.notices if n.id not in shown]
        own = activity.occurrence
        if own is not None and own.id not in {o.id for o in occurrences}:
            occurrences.insert(0, OccurrenceChoice(own.id, own.series.title, own.start))
    return FormOptions(
        groups=groups_in_use(session),
        channels=all_channels(session),
        notices=notices,
        occurrences=occurrences,
        users=[
            PersonChoice(*row)
            for row in session.execute(
                select(User.id, User.name, User.email)
                .where(User.active.is_(True))
                .order_by(User.name, User.email)
            )
        ],
        contacts=[
            PersonChoice(*row)
            for row in session.execute(
                select(Contact.id, Contact.name, Contact.email)
                .where(Contact.active.is_(True))
                .order_by(Contact.name)
                .limit(500)
            )
        ],
    )
