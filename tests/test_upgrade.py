"""Upgrading from the previous release's schema with data in it: `flask db upgrade` keeps
the data, runs the data migrations on it, and leaves a schema `flask db check` accepts."""

from __future__ import annotations

from flask_migrate import upgrade
from sqlalchemy import column, insert, select, table

from commsplan import create_app
from commsplan.extensions import db
from commsplan.meetings.models import Registration
from commsplan.notices.models import Notice
from commsplan.plan.models import Contact, Responsibility

# The previous release: the head before the last five revisions (public pages).
PREVIOUS_RELEASE = "u7c4e1a0b9d2"
CREATED = "2026-06-01 08:00:00"

# Rows as that release's app stored them, written against the old schema by hand.
OLD_DATA: list[tuple[str, dict[str, object]]] = [
    ("unit", {"id": 1, "name": "ITC", "kind": "administration", "description": ""}),
    (
        "contact",
        {
            "id": 1,
            "name": "Drift ITC",
            "email": "drift@example.org",
            "phone": "",
            "unit_id": 1,
            "role": "Drift",
            "language": "sv",
            "active": True,
            "created_at": CREATED,
        },
    ),
    ("service", {"id": 1, "name": "Journalen", "description": "", "position": 1}),
    ("system", {"id": 1, "name": "T4", "description": ""}),
    (
        "responsibility",
        {
            "id": 1,
            "service_id": 1,
            "system_id": 1,
            "responsible_unit_id": 1,
            "contact_route": "Easit",
            "comment": "",
            "position": 1,
        },
    ),
    (
        "meeting_series",
        {
            "id": 1,
            "title": "Nätverket",
            "description": "",
            "kind": "network",
            "uid": "n@x",
            "starts_on": "2026-06-01",
            "start_time": "10:00:00",
            "duration_minutes": 60,
            "timezone": "Europe/Stockholm",
            "location": "",
            "online_url": "",
            "organiser_name": "",
            "organiser_email": "",
            "holiday_policy": "skip",
            "july_break": False,
            "registration_open": True,
            "sequence": 0,
            "created_at": CREATED,
            "updated_at": CREATED,
        },
    ),
    (
        "occurrence",
        {
            "id": 1,
            "series_id": 1,
            "uid": "o@x",
            "original_start": "2026-06-10 08:00:00",
            "start": "2026-06-10 08:00:00",
            "end": "2026-06-10 09:00:00",
            "status": "scheduled",
            "location": "",
            "online_url": "",
            "note": "",
            "overridden": False,
            "superseded": False,
            "holiday_name": "",
            "practical_notes": "",
            "material_url": "",
            "minutes_url": "",
            "minutes_markdown": "",
            "sequence": 0,
            "created_at": CREATED,
            "updated_at": CREATED,
        },
    ),
    (
        "registration",
        {
            "id": 1,
            "occurrence_id": 1,
            "name": "Anna",
            "email": "anna@example.org",
            "organisation": "Regionen",
            "token": "tok1",
            "created_at": CREATED,
        },
    ),
    (
        "notice",
        {
            "id": 1,
            "uid": "u1",
            "kind": "outage",
            "title": "Journalen nere",
            "body_markdown": "Vi felsöker.",
            "status": "published",
            "severity": "high",
            "version": "",
            "changes_for_staff": "",
            "changes_for_residents": "",
            "sequence": 0,
            "schedule_version": 0,
            "start_version": 0,
            "published_at": CREATED,
            "created_at": CREATED,
            "updated_at": CREATED,
        },
    ),
]


def test_upgrade_from_the_previous_release_keeps_the_data(empty_database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("COMMSPLAN_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url, "SECRET_KEY": "t", "TESTING": True})
    with app.app_context():
        upgrade(revision=PREVIOUS_RELEASE)
        with db.engine.begin() as conn:
            for name, row in OLD_DATA:
                conn.execute(insert(table(name, *(column(key) for key in row))).values(row))

        upgrade()
        check = app.test_cli_runner().invoke(args=["db", "check"])
        assert check.exit_code == 0, check.output

        contact = db.session.get(Contact, 1)
        assert (contact.name, contact.unit.name) == ("Drift ITC", "ITC")
        responsibility = db.session.get(Responsibility, 1)
        assert (responsibility.service.name, responsibility.system.name) == ("Journalen", "T4")
        # The sign-up confirmation migration counts earlier sign-ups as confirmed.
        registration = db.session.scalars(select(Registration)).one()
        assert registration.email == "anna@example.org"
        assert registration.confirmed_at == registration.created_at
        assert db.session.get(Notice, 1).title == "Journalen nere"
        # The app runs on the upgraded database: the worker's jobs run and are listed.
        runner = app.test_cli_runner()
        assert runner.invoke(args=["commsplan", "deliver"]).exit_code == 0
        assert "notice-schedule: var 30:e sekund; senast" in runner.invoke(args=["commsplan", "jobs"]).output
        db.session.remove()
        db.engine.dispose()
