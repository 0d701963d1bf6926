"""/healthz says the process is up; /readyz says whether it should get traffic."""

from __future__ import annotations

from datetime import timedelta

import pytest

from commsplan import create_app
from commsplan.timeutil import utcnow
from tests.ops.helpers import queue_mail, revision_before_head, stamp_database

pytestmark = pytest.mark.usefixtures("_no_stamp_left")

# Nothing listens on port 1: connecting fails at once.
UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:1/none"


def test_healthz_answers_even_when_the_database_is_unreachable(app_config):
    # Process up is all it says: a load balancer must not restart it for a database outage.
    response = (
        create_app({**app_config, "SQLALCHEMY_DATABASE_URI": UNREACHABLE}).test_client().get("/healthz")
    )
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_is_ready_on_a_current_database_with_a_flowing_outbox(app, client, session):
    stamp_database(app, "head")
    queue_mail(session, "a@example.org")  # queued just now: not stuck
    response = client.get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json["status"] == "ready"
    assert response.json["checks"]["database"]["ok"] is True
    assert response.json["checks"]["migrations"]["ok"] is True


def test_readyz_is_503_when_the_database_is_behind_the_migrations(app, client):
    older = revision_before_head(app)
    stamp_database(app, older)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.mimetype == "application/json"
    migrations = response.json["checks"]["migrations"]
    assert migrations["ok"] is False
    assert migrations["database"] == [older]
    assert response.json["status"] == "unavailable"


def test_readyz_is_503_when_the_database_was_never_migrated(app, client):
    # The test schema is made with create_all: no alembic_version row at all.
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["migrations"]["database"] == []


def test_readyz_is_503_when_the_oldest_due_mail_waited_too_long(app, client, session):
    stamp_database(app, "head")
    app.config["READY_MAX_QUEUE_AGE"] = 600
    queue_mail(session, "late@example.org", created_at=utcnow() - timedelta(minutes=20))
    response = client.get("/readyz")
    assert response.status_code == 503
    outbox = response.json["checks"]["outbox"]
    assert outbox["ok"] is False
    assert outbox["oldest_due_age_seconds"] >= 1200

    app.config["READY_MAX_QUEUE_AGE"] = 3600
    assert client.get("/readyz").status_code == 200


def test_readyz_is_503_when_the_database_is_unreachable(app_config):
    response = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": UNREACHABLE}).test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["database"]["ok"] is False
