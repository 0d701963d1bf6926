"""The ops tests stamp the test database with alembic revisions; on PostgreSQL the
schema outlives a test, so the stamp is removed again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import text

from commsplan.extensions import db


@pytest.fixture
def _no_stamp_left(app: Flask) -> Iterator[None]:
    yield
    db.session.rollback()
    db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
    db.session.commit()
