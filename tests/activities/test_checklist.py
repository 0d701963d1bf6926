"""Checklist templates, completeness, versioned wording, status and copying."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from commsplan.activities import services
from commsplan.activities.defaults import ACTIVITY_TEMPLATE_KEY, EDITORIAL_TEMPLATE_KEY
from commsplan.activities.models import (
    Activity,
    ActivityAnswer,
    ActivityStatus,
    ChecklistTemplate,
    TemplateQuestion,
)
from commsplan.notices.models import NoticeKind
from commsplan.timeutil import working_days_before
from tests import factories
from tests.activities.helpers import complete_activity, complete_data, groups
from tests.notices.helpers import make_notice

PLAN_QUESTIONS = [
    "Har aktiviteten ett informationsvärde för våra intressenter?",
    "Vilka målgrupper är direkt/indirekt berörda?",
    "Vad är syftet med informationen?",
    "Vad ska informeras om för respektive målgrupp? Vad är kärnan?",
    "Genom vilka informationskanaler når vi bäst respektive målgrupp?",
    "När ska informationen ges?",
    "Vem ansvarar?",
]


def _template(session, key: str) -> ChecklistTemplate:  # type: ignore[no-untyped-def]
    return session.scalars(select(ChecklistTemplate).where(ChecklistTemplate.key == key)).one()


def test_shipped_templates_hold_the_plans_wording_and_load_once(session, runner):
    assert services.ensure_default_templates(session) == 2
    assert services.ensure_default_templates(session) == 0
    plan = _template(session, ACTIVITY_TEMPLATE_KEY)
    assert [q.text for q in plan.questions] == PLAN_QUESTIONS
    editorial = _template(session, EDITORIAL_TEMPLATE_KEY)
    kinds = [q.answer_kind.value for q in editorial.questions]
    assert kinds.count("text") == 6 and kinds.count("confirm") == 2
    assert editorial.questions[0].text.startswith("Finns likande innehåll på sajten redan")
    assert "konkurrensneutral" in editorial.questions[4].text
    assert editorial.questions[6].text.startswith("Inte skriver om pågående projekt")
    session.commit()
    result = runner.invoke(args=["commsplan", "demo"])
    assert result.exit_code == 0, result.output
    assert session.scalar(select(func.count()).select_from(ChecklistTemplate)) == 2
    example = session.scalars(select(Activity)).one()
    assert [(g.group.name, [c.name for c in g.channels]) for g in example.groups] == [
        ("Vårdgivare - medarbetare", ["Intranätet"]),
        ("Vårdgivare - chefer", ["Funktionsbrevlådan 1177 e-tjänster"]),
        ("Invånare/Patienter", ["1177.se"]),
    ]
    assert services.missing_answers(example) == ["Vem ansvarar?"]
    again = runner.invoke(args=["commsplan", "demo"])
    assert "inget ändrades" in again.output
    assert session.scalar(select(func.count()).select_from(Activity)) == 1


def test_an_empty_activity_lists_every_missing_answer(session):
    activity = services.create_activity(session, services.ActivityData(title="Nyhetsbrev"), None)
    missing = services.missing_answers(activity)
    assert len(missing) == 7
    assert missing[0].startswith(PLAN_QUESTIONS[0])
    assert missing[-1] == "Vem ansvarar?"


def test_core_message_and_channel_are_needed_for_each_group(session):
    g = groups(session)
    contact = factories.make_contact(session)
    data = complete_data(g, responsible_contact_id=contact.id)
    data.groups[1].core_message = ""
    data.groups[1].channel_ids = []
    activity = services.create_activity(session, data, None)
    assert services.missing_answers(activity) == [
        f"{PLAN_QUESTIONS[3]} – kärnbudskap saknas för Invånare/Patienter.",
        f"{PLAN_QUESTIONS[4]} – kanal saknas för Invånare/Patienter.",
    ]
    with pytest.raises(services.ActivityError, match="kärnbudskap saknas för Invånare/Patienter"):
        services.set_status(session, activity, ActivityStatus.planned)
    assert activity.status is ActivityStatus.idea


def test_information_value_needs_why_and_timing_may_be_relative(session):
    g = groups(session)
    contact = factories.make_contact(session)
    activity = services.create_activity(
        session, complete_data(g, responsible_contact_id=contact.id, information_value_why=""), None
    )
    assert services.missing_answers(activity) == [f"{PLAN_QUESTIONS[0]} – svara ja eller nej och varför."]
    notice = make_notice(session, NoticeKind.service_window)
    activity.notices = [notice]
    expected = working_days_before(notice.starts_at.astimezone(services.STOCKHOLM).date(), 2)
    assert services.due(activity).date() == expected


def test_editing_a_question_keeps_the_wording_answers_were_given_under(session):
    first = complete_activity(session)
    question = _template(session, ACTIVITY_TEMPLATE_KEY).questions[2]
    services.edit_question(session, question, "Vad vill vi uppnå med informationen?")
    assert question.version == 2
    second = services.create_activity(
        session, services.ActivityData(title="Ny", purpose="Att informera"), None
    )

    def answer(activity: Activity) -> ActivityAnswer:
        return next(a for a in activity.answers if a.question_id == question.id)

    assert answer(first).question_text == PLAN_QUESTIONS[2]
    assert answer(second).question_text == "Vad vill vi uppnå med informationen?"
    # Saving the first again without changing the purpose keeps the old wording …
    services.update_activity(session, first, services.data_from_activity(first))
    assert answer(first).question_text == PLAN_QUESTIONS[2]
    # … a new answer is given under the new one.
    data = services.data_from_activity(first)
    data.purpose = "Att förbereda"
    services.update_activity(session, first, data)
    assert answer(first).question_text == "Vad vill vi uppnå med informationen?"
    assert answer(first).question_version == 2


def test_retired_question_is_no_longer_asked_added_one_is(session):
    activity = complete_activity(session)
    template = activity.template
    assert template is not None
    added = services.add_question(session, template, "Behövs en översättning?")
    assert services.missing_answers(activity) == ["Behövs en översättning?"]
    services.retire_question(session, added)
    assert services.missing_answers(activity) == []
    services.move_question(session, template.questions[-2], -1)
    session.expire(template)
    assert [q.text for q in template.questions][5:] == [PLAN_QUESTIONS[6], PLAN_QUESTIONS[5], added.text]


def test_editorial_boundaries_must_be_confirmed(session):
    services.ensure_default_templates(session)
    editorial = _template(session, EDITORIAL_TEMPLATE_KEY)
    answers = {q.id: ("Svar", False) for q in editorial.questions}
    activity = services.create_activity(
        session,
        services.ActivityData(title="Ny regional artikel", template_id=editorial.id, answers=answers),
        None,
    )
    missing = services.missing_answers(activity)
    assert len(missing) == 2 and all(line.endswith("– bekräfta.") for line in missing)
    confirmed = {q.id: ("Svar", True) for q in editorial.questions}
    data = services.data_from_activity(activity)
    data.answers = confirmed
    services.update_activity(session, activity, data)
    assert services.missing_answers(activity) == []


def test_status_flow_drop_needs_a_reason_and_copy_keeps_the_pattern(session):
    notice = make_notice(session, NoticeKind.release)
    activity = complete_activity(session, notice)
    with pytest.raises(services.ActivityError):
        services.set_status(session, activity, ActivityStatus.done)
    services.set_status(session, activity, ActivityStatus.planned)
    services.set_status(session, activity, ActivityStatus.done)
    assert activity.status is ActivityStatus.done
    with pytest.raises(services.ActivityError):
        services.set_status(session, activity, ActivityStatus.dropped, " ")
    copy = services.copy_activity(session, activity, None)
    assert copy.status is ActivityStatus.idea and copy.notices == [] and copy.copied_from_id == activity.id
    assert [(g.group.name, g.core_message) for g in copy.groups] == [
        (g.group.name, g.core_message) for g in activity.groups
    ]
    assert services.missing_answers(copy) == []
    services.set_status(session, copy, ActivityStatus.dropped, "Releasen flyttades")
    assert copy.drop_reason == "Releasen flyttades"


def test_per_group_wording_reaches_the_right_contacts(session):
    notice = make_notice(session, NoticeKind.release)
    g = groups(session)
    complete_activity(session, notice, g)
    nurse = factories.make_contact(session, email="sjukskoterska@example.org")
    nurse.groups = [g.staff]
    resident_contact = factories.make_contact(session, email="invanare@example.org")
    resident_contact.groups = [g.residents]
    other = factories.make_contact(session, email="ovrig@example.org")
    assert services.wording_for_contact(session, notice, nurse) == "Ny knapp för ombokning i vyn."
    assert services.wording_for_contact(session, notice, resident_contact) == "Du kan nu boka om själv."
    assert services.wording_for_contact(session, notice, other) is None


def test_template_questions_seeded_by_the_migration(tmp_path, monkeypatch):
    from flask_migrate import upgrade

    from commsplan import create_app
    from commsplan.extensions import db

    monkeypatch.setenv("COMMSPLAN_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'm.db'}", "SECRET_KEY": "t"})
    with app.app_context():
        upgrade()
        texts = list(db.session.scalars(select(TemplateQuestion.text).order_by(TemplateQuestion.id)))
        assert texts[:7] == PLAN_QUESTIONS and len(texts) == 15
        assert services.ensure_default_templates(db.session) == 0
        db.session.remove()
        db.engine.dispose()
