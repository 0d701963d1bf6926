"""`flask commsplan demo` loads the plan and the meeting series, and a second run changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from commsplan.meetings.models import MeetingSeries, Occurrence
from commsplan.plan.models import Contact, StakeholderGroup


def _counts(session) -> tuple[int, ...]:
    return tuple(
        session.scalar(select(func.count()).select_from(model))
        for model in (StakeholderGroup, Contact, MeetingSeries, Occurrence)
    )


def test_demo_loads_plan_and_meetings_once(runner, session):
    first = runner.invoke(args=["commsplan", "demo"])
    assert first.exit_code == 0, first.output
    assert "Mötesserier inlästa: 3 serier" in first.output
    # Swedish labels with plurals, not model class names ("Channel 8").
    assert "8 kanaler" in first.output and "1 plan," in first.output
    assert "12 rader i ansvarstabellen" in first.output
    for class_name in ("Channel", "StakeholderGroup", "Responsibility", "InformationNeed", "Unit "):
        assert class_name not in first.output
    loaded = _counts(session)
    assert loaded[0] == 7 and loaded[2] == 3 and loaded[3] > 10

    second = runner.invoke(args=["commsplan", "demo"])
    assert second.exit_code == 0, second.output
    assert "inget ändrades" in second.output
    session.expire_all()
    assert _counts(session) == loaded
