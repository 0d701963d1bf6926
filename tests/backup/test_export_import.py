"""`flask commsplan export` / `import`: the whole plan as versioned JSON that round-trips."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, func, select, text

from commsplan import create_app
from commsplan.backup import services
from commsplan.extensions import db
from commsplan.plan.models import Contact, Plan, Service
from tests import factories
from tests.conftest import POSTGRES_URL
from tests.notices.helpers import make_notice


@pytest.fixture
def empty_app(tmp_path: Path, app_config: dict, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """A second app on a database of its own with the schema and no rows."""
    if POSTGRES_URL:
        schema = f"restore_{uuid.uuid4().hex[:8]}"
        engine = create_engine(POSTGRES_URL)
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        separator = "&" if "?" in POSTGRES_URL else "?"
        url = f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{tmp_path / 'restore.db'}"
    other = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": url})
    with other.app_context():
        db.create_all()
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()
    if POSTGRES_URL:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def _export(application: Flask, path: Path) -> bytes:
    with application.app_context():
        result = application.test_cli_runner().invoke(args=["commsplan", "export", str(path)])
        assert result.exit_code == 0, result.output
    return path.read_bytes()


def _import(application: Flask, path: Path, *extra: str):  # type: ignore[no-untyped-def]
    with application.app_context():
        return application.test_cli_runner().invoke(args=["commsplan", "import", str(path), *extra])


def test_demo_plan_round_trips_byte_for_byte(app, runner, session, empty_app, tmp_path):
    assert runner.invoke(args=["commsplan", "demo"]).exit_code == 0
    first = _export(app, tmp_path / "first.json")
    document = json.loads(first)
    assert (document["format"], document["format_version"]) == ("commsplan-plan", 1)
    assert list(document["tables"]) == sorted(document["tables"])
    assert len(document["tables"]["contact"]) == session.scalar(select(func.count()).select_from(Contact))
    assert document["tables"]["responsibility"] and document["tables"]["occurrence"]

    result = _import(empty_app, tmp_path / "first.json")
    assert result.exit_code == 0, result.output
    assert "Läste in" in result.output
    assert _export(empty_app, tmp_path / "second.json") == first

    with empty_app.app_context():
        plan = db.session.scalars(select(Plan)).one()
        assert plan.title == session.scalars(select(Plan)).one().title
        # New rows get fresh ids after the imported ones (PostgreSQL's sequences moved on).
        added = factories.make_contact(db.session, name="Ny", email="ny@example.org")
        db.session.commit()
        assert added.id > max(row["id"] for row in document["tables"]["contact"])


def test_import_refuses_a_database_with_a_plan_unless_replace(app, runner, session, empty_app, tmp_path):
    assert runner.invoke(args=["commsplan", "demo"]).exit_code == 0
    path = tmp_path / "plan.json"
    exported = _export(app, path)
    with empty_app.app_context():
        service = factories.make_service(db.session, name="Egen e-tjänst")
        db.session.commit()
        # Something outside the plan that refers to it: --replace removes it too.
        make_notice(db.session, service_ids=[service.id])
        db.session.commit()
    refused = _import(empty_app, path)
    assert refused.exit_code != 0
    assert "innehåller redan en plan" in refused.output and "--replace" in refused.output
    with empty_app.app_context():
        assert db.session.scalars(select(Service.name)).all() == ["Egen e-tjänst"]
    replaced = _import(empty_app, path, "--replace")
    assert replaced.exit_code == 0, replaced.output
    assert _export(empty_app, tmp_path / "again.json") == exported


OURS = '{"format": "commsplan-plan", "format_version": 1, "tables": '


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "inte JSON"),
        ('{"format": "something-else", "format_version": 1, "tables": {}}', "ingen export"),
        ('{"format": "commsplan-plan", "format_version": 99, "tables": {}}', "Okänd formatversion 99"),
        ('{"format": "commsplan-plan", "format_version": 1, "tables": {"user_account": []}}', "finns inte"),
        (OURS + '{"unit": [{"id": 1, "colour": "x"}]}}', "okända kolumner: colour"),
        (OURS + '{"contact": [{"id": 1, "unit_id": 7}]}}', "inget ändrades"),
    ],
)
def test_import_refuses_documents_it_cannot_read(empty_app, tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    result = _import(empty_app, path)
    assert result.exit_code != 0
    assert message in result.output
    with empty_app.app_context():
        assert services.holds_a_plan(db.session) == []


def test_export_to_standard_output(runner, session):
    factories.make_service(session, name="Journalen")
    session.commit()
    result = runner.invoke(args=["commsplan", "export"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["tables"]["service"][0]["name"] == "Journalen"
