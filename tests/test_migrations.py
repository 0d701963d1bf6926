"""The Alembic chain builds the schema from empty and matches the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from commsplan import create_app
from commsplan.extensions import db


def test_upgrade_from_empty_matches_models_and_downgrades(empty_database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("COMMSPLAN_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url, "SECRET_KEY": "t", "TESTING": True})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
            assert differences == [], differences
            tables = set(inspect(conn).get_table_names())
        assert {"plan", "contact", "responsibility", "user_account"} <= tables
        downgrade(revision="base")
        with db.engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()


def test_one_checklist_keeps_the_plans_own_questions_and_every_answers_wording(
    empty_database_url, tmp_path, monkeypatch
):
    """wording03e6f7: the plan's copy of the checklist goes; a question only it had joins
    the activity template, and answers keep the wording they were given under."""
    monkeypatch.setenv("COMMSPLAN_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url, "SECRET_KEY": "t", "TESTING": True})
    with app.app_context():
        upgrade(revision="wording02c4d5")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO plan (id, title, region, version, purpose, stakeholders_intro, "
                    "guidelines_intro, channels_intro, responsibility_intro, dissemination, "
                    "collaboration, updated_at) VALUES (1, 'Plan', 'Region', '1', '', '', '', '', '', "
                    "'', '', '2026-01-01 00:00:00')"
                )
            )
            for position, question in enumerate(
                ["Vem ansvarar?", "  vem   ansvarar? ", "Är materialet tillgänglighetsanpassat?"], 1
            ):
                conn.execute(
                    text("INSERT INTO checklist_question (plan_id, position, text) VALUES (1, :p, :t)"),
                    {"p": position, "t": question},
                )
            template_id = conn.execute(
                text("SELECT id FROM checklist_template WHERE key = 'activity'")
            ).scalar()
            conn.execute(
                text(
                    "INSERT INTO activity (id, title, kind, status, drop_reason, information_value_why, "
                    "purpose, created_at, updated_at) VALUES (1, 'A', 'general', 'idea', '', '', '', "
                    "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO activity_answer (activity_id, position, question_text, question_version, "
                    "text, confirmed, answered_at) VALUES (1, 1, 'Vem ansvarar? (gammal lydelse)', 1, "
                    "'Jag', false, '2026-01-01 00:00:00')"
                )
            )
        upgrade()
        with db.engine.connect() as conn:
            assert "checklist_question" not in inspect(conn).get_table_names()
            texts = conn.execute(
                text(
                    "SELECT text, answer_kind FROM template_question WHERE template_id = :t ORDER BY position"
                ),
                {"t": template_id},
            ).all()
            assert [t for t, _kind in texts][:7][-1] == "Vem ansvarar?"
            # Only the question the template lacked is added, once, as free text, at the end.
            assert texts[7:] == [("Är materialet tillgänglighetsanpassat?", "text")]
            assert conn.execute(text("SELECT question_text FROM activity_answer")).scalar() == (
                "Vem ansvarar? (gammal lydelse)"
            )
        downgrade(revision="base")
        db.engine.dispose()
