"""Flask extensions, created unbound and bound to an app in ``create_app``."""

import sqlite3
from typing import Any

from flask import current_app, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import Engine, MetaData, event
from sqlalchemy.orm import DeclarativeBase

# Named constraints so Alembic can alter them on SQLite (batch mode) and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True, compare_type=True)
login_manager = LoginManager()
mail = Mail()
babel = Babel()
csrf = CSRFProtect()
# Per-client limits, keyed by the client address (behind a proxy, COMMSPLAN_PROXY_HOPS
# makes that the visitor's: commsplan/ops/transport.py). Storage: RATELIMIT_STORAGE_URI. If that
# storage (Redis) is down, each process counts in memory meanwhile instead of answering 500.
limiter = Limiter(key_func=get_remote_address, swallow_errors=True, in_memory_fallback_enabled=True)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@limiter.request_filter
def _reading_is_not_limited() -> bool:
    """Every limit of ours is on a form's POST (log-in, meeting sign-up, subscribing), so
    a page view skips Flask-Limiter's per-request resolution of limits (a tenth of a
    millisecond on every page, much of /status during an outage). Default or application
    limits, if an operator sets RATELIMIT_DEFAULT or RATELIMIT_APPLICATION, still apply."""
    if request.method not in READ_METHODS:
        return False
    config = current_app.config
    return not (config.get("RATELIMIT_DEFAULT") or config.get("RATELIMIT_APPLICATION"))


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """WAL for SQLite: the web app reads while the mail worker writes (no "database is
    locked"), and a commit costs no fsync (synchronous=NORMAL), which the outbox does
    once per batch. A crash can lose the last commits but never corrupts the file."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
