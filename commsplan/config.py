"""Configuration defaults and the checks that run before the app starts.

Defaults are safe for a developer's machine: SQLite under ``instance/`` and a secret key
generated once and kept in ``instance/``. Everything can be overridden with ``COMMSPLAN_*``
environment variables (``app.config.from_prefixed_env("COMMSPLAN")``).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask


class ConfigurationError(RuntimeError):
    """Raised when the app must not start with the configuration it was given."""


def defaults(instance_path: str) -> dict[str, Any]:
    return {
        "ENV": "development",
        "SQLALCHEMY_DATABASE_URI": "sqlite:///" + os.path.join(instance_path, "commsplan.db"),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "BASE_URL": "http://127.0.0.1:5000",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": 1025,
        "MAIL_USE_TLS": False,
        "MAIL_USE_SSL": False,
        "MAIL_DEFAULT_SENDER": "commsplan <commsplan@example.org>",
        "BABEL_DEFAULT_LOCALE": "sv",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Stockholm",
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).parent / "translations"),
        "LANGUAGES": ["sv", "en"],
        "WTF_CSRF_TIME_LIMIT": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        # Flask-Limiter. One process: memory. Several: a shared store, e.g. redis://127.0.0.1:6379/0.
        # Enabled explicitly: Flask-Limiter keeps a disabled state across apps otherwise.
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        # Log-in: per client address, and per account (lock-out kept in the database).
        "LOGIN_RATE_LIMIT": "10 per minute",
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_LOCKOUT_SECONDS": 60,
        "LOGIN_MAX_LOCKOUT_SECONDS": 3600,
        # Public meeting sign-up: POSTs per client address (Flask-Limiter), and sign-up mail
        # per e-mail address per 24 hours (counted in the outbox, so across processes).
        "REGISTRATION_RATE_LIMIT": "10 per minute;60 per hour",
        "REGISTRATION_MAILS_PER_ADDRESS": 3,
        "PAGE_SIZE": 50,
        # Operations (deploy/README.md). Reverse proxies in front of the app whose
        # X-Forwarded-* headers are trusted; 0 = none (the app faces clients directly).
        "PROXY_HOPS": 0,
        # Strict-Transport-Security in production when the request came over TLS.
        "HSTS_MAX_AGE": 31536000,
        # JSON lines on stdout; None = on in production only.
        "LOG_JSON": None,
        # Public pages (/status, its feed and notices) may be cached this many seconds.
        "PUBLIC_CACHE_MAX_AGE": 30,
        # ... and each process reads their version (one query) at most this often for
        # visitors without a log-in; 0 = on every request (commsplan/httpcache.py).
        "PUBLIC_VERSION_SECONDS": 1,
        # /readyz fails when the oldest due mail has waited longer than this.
        "READY_MAX_QUEUE_AGE": 900,
        # /metrics: a bearer token, and/or the client networks that may scrape without one.
        "METRICS_TOKEN": "",
        "METRICS_NETWORKS": "127.0.0.0/8,::1/128",
        # Delivery latency in /metrics is computed from mail sent in this many seconds.
        "METRICS_LATENCY_WINDOW": 3600,
    }


def _development_secret_key(instance_path: str) -> str:
    """Return the development secret key, creating it on first use.

    Kept in ``instance/secret_key`` so sessions survive restarts and several processes
    (web, worker) on one machine agree on it.
    """
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: if two processes start at once, the first writer wins and both read its key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def is_production(app: Flask) -> bool:
    return str(app.config.get("ENV", "development")).lower() == "production"


def _is_throwaway_database(uri: str) -> bool:
    """SQLite in memory: every process (web, worker) would see its own empty database."""
    return uri in ("sqlite://", "sqlite:///:memory:") or "mode=memory" in uri


def finalise(app: Flask) -> None:
    """Fill in derived settings and refuse unsafe production configuration."""
    production = is_production(app)
    # COMMSPLAN_DATABASE_URL is the documented name; SQLALCHEMY_DATABASE_URI is what
    # Flask-SQLAlchemy reads.
    if app.config.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = str(app.config["DATABASE_URL"])
    if production:
        # Every problem at once, so an operator fixes the unit file in one go.
        problems = []
        if not app.config.get("SECRET_KEY"):
            problems.append(
                "COMMSPLAN_SECRET_KEY must be set when COMMSPLAN_ENV=production; "
                "refusing to start with a generated key."
            )
        uri = str(app.config.get("SQLALCHEMY_DATABASE_URI") or "")
        if uri == defaults(app.instance_path)["SQLALCHEMY_DATABASE_URI"] or _is_throwaway_database(uri):
            problems.append(
                "COMMSPLAN_DATABASE_URL must be set when COMMSPLAN_ENV=production "
                "(e.g. postgresql+psycopg://commsplan@db.example.org/commsplan); "
                "refusing to start on the development database."
            )
        if problems:
            raise ConfigurationError(" ".join(problems))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _development_secret_key(app.instance_path)
    if production:
        # Assigned, not setdefault: Flask's own defaults already hold SESSION_COOKIE_SECURE=False.
        for key in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
            app.config[key] = True
        for key in ("SESSION_COOKIE_HTTPONLY", "REMEMBER_COOKIE_HTTPONLY"):
            app.config[key] = True
        for key in ("SESSION_COOKIE_SAMESITE", "REMEMBER_COOKIE_SAMESITE"):
            if app.config.get(key) not in ("Lax", "Strict"):
                app.config[key] = "Lax"
    app.config["BASE_URL"] = str(app.config["BASE_URL"]).rstrip("/")
