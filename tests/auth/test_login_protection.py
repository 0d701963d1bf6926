"""Log-in under attack: per-client rate limit, per-account lock-out, no account oracle."""

from __future__ import annotations

import logging
import socket
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from commsplan import create_app
from commsplan.auth import models, services
from commsplan.auth.models import User
from commsplan.extensions import db, limiter
from commsplan.timeutil import utcnow
from tests import factories
from tests.test_pages import audit

REFUSED = "Fel e-postadress eller lösenord"
POLICY = services.LoginPolicy(max_failures=3, lockout=timedelta(minutes=1), max_lockout=timedelta(minutes=10))


def _login(client, email, password=None, **kwargs):
    return client.post("/login", data={"email": email, "password": password or "wrong password"}, **kwargs)


def _authenticate(session, email, password, now):
    user = services.authenticate(session, email, password, client="192.0.2.7", now=now, policy=POLICY)
    session.commit()
    return user


def test_account_locks_after_n_failures_and_opens_after_the_period(session):
    factories.make_user(session, email="lock@example.org")
    session.commit()
    start = utcnow()
    for _ in range(POLICY.max_failures):
        assert _authenticate(session, "lock@example.org", "wrong password", start) is None
    user = session.scalar(select(User).where(User.email == "lock@example.org"))
    assert user.failed_logins == 3 and user.locked_until == start + timedelta(minutes=1)
    # Locked: even the right password does not get in, and the try does not count.
    assert (
        _authenticate(session, "lock@example.org", factories.PASSWORD, start + timedelta(seconds=59)) is None
    )
    assert user.failed_logins == 3
    # After the period the right password works and clears the counter.
    assert (
        _authenticate(session, "lock@example.org", factories.PASSWORD, start + timedelta(seconds=61)) == user
    )
    assert user.failed_logins == 0 and user.locked_until is None


def test_lock_out_grows_with_each_further_failure_up_to_the_cap(session):
    factories.make_user(session, email="grow@example.org")
    session.commit()
    now = utcnow()
    expected = [None, None, 1, 2, 4, 8, 10, 10]  # minutes, per failure
    for minutes in expected:
        _authenticate(session, "grow@example.org", "wrong password", now)
        user = session.scalar(select(User).where(User.email == "grow@example.org"))
        assert user.locked_until == (None if minutes is None else now + timedelta(minutes=minutes))
        if user.locked_until is not None:
            now = user.locked_until + timedelta(seconds=1)  # wait it out, then fail again


def test_each_lock_out_is_logged_with_account_and_client(session, caplog):
    factories.make_user(session, email="logged@example.org")
    session.commit()
    now = utcnow()
    with caplog.at_level(logging.WARNING, logger="commsplan.auth.services"):
        for _ in range(POLICY.max_failures - 1):
            _authenticate(session, "logged@example.org", "wrong password", now)
        assert caplog.records == []
        _authenticate(session, "logged@example.org", "wrong password", now)
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert "logged@example.org" in record.getMessage() and "192.0.2.7" in record.getMessage()


def test_locked_account_answers_like_a_wrong_password_and_an_unknown_address(client, session, caplog):
    factories.make_user(session, email="victim@example.org")
    session.commit()
    for _ in range(5):  # LOGIN_MAX_FAILURES
        assert _login(client, "victim@example.org").status_code == 401
    assert "victim@example.org" in caplog.text and "127.0.0.1" in caplog.text
    locked = _login(client, "victim@example.org", factories.PASSWORD)
    wrong = _login(client, "victim@example.org")
    unknown = _login(client, "nobody@example.org")
    assert locked.status_code == wrong.status_code == unknown.status_code == 401
    assert REFUSED in locked.get_data(as_text=True)
    texts = {
        r.get_data(as_text=True).replace("victim", "X").replace("nobody", "X") for r in (locked, unknown)
    }
    assert len(texts) == 1  # the same page, whatever the account's state
    user = session.scalar(select(User).where(User.email == "victim@example.org"))
    session.refresh(user)
    assert user.locked_until is not None


@pytest.fixture
def hash_checks(monkeypatch):
    """Every password-hash check, by the method of the hash it was checked against."""
    methods: list[str] = []
    original = services.check_password_hash

    def counting(pwhash: str, password: str) -> bool:
        methods.append(pwhash.split("$", 1)[0])
        return original(pwhash, password)

    monkeypatch.setattr(services, "check_password_hash", counting)
    monkeypatch.setattr(models, "check_password_hash", counting)
    return methods


def test_known_and_unknown_addresses_cost_one_hash_check_of_the_configured_method(
    client, session, app, hash_checks
):
    factories.make_user(session, email="known@example.org")
    factories.make_user(session, email="inactive@example.org", active=False)
    session.commit()
    method = app.config["PASSWORD_HASH_METHOD"]
    for email in ("known@example.org", "unknown@example.org", "inactive@example.org"):
        hash_checks.clear()
        assert _login(client, email).status_code == 401
        assert hash_checks == [method], email


def test_locked_account_still_costs_one_hash_check(session, hash_checks):
    factories.make_user(session, email="locked@example.org")
    session.commit()
    now = utcnow()
    for _ in range(POLICY.max_failures):
        _authenticate(session, "locked@example.org", "wrong password", now)
    hash_checks.clear()
    assert _authenticate(session, "locked@example.org", factories.PASSWORD, now) is None
    assert len(hash_checks) == 1


def test_client_is_limited_per_address_with_a_swedish_and_english_page(client, app):
    limit = int(app.config["LOGIN_RATE_LIMIT"].split()[0])
    for n in range(limit):
        assert _login(client, f"guess{n}@example.org").status_code == 401
    refused = _login(client, "guess@example.org")
    assert refused.status_code == 429
    assert "För många inloggningsförsök" in refused.get_data(as_text=True)
    assert "Retry-After" in refused.headers
    page = audit(refused.get_data(as_text=True))
    assert page.html_lang == "sv" and page.h1_count == 1 and page.external_assets == []
    # Reading the page is not limited, and another client address is not affected.
    assert client.get("/login").status_code == 200
    other = _login(client, "guess@example.org", environ_base={"REMOTE_ADDR": "192.0.2.55"})
    assert other.status_code == 401
    client.post("/language/en")
    english = _login(client, "guess@example.org")
    assert english.status_code == 429
    assert "Too many log-in attempts" in english.get_data(as_text=True)


def test_log_in_works_when_the_shared_rate_limit_storage_is_down(app_config, session):
    factories.make_user(session, email="redis@example.org")
    session.commit()
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    down = create_app({**app_config, "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{port}/0"})
    client = down.test_client()
    assert _login(client, "redis@example.org").status_code == 401
    assert _login(client, "redis@example.org", factories.PASSWORD).status_code == 302
    # Meanwhile the process counts in memory: the per-client limit still holds.
    anonymous = down.test_client()
    limit = int(app_config.get("LOGIN_RATE_LIMIT", "10 per minute").split()[0])
    statuses = [_login(anonymous, f"guess{n}@example.org").status_code for n in range(limit)]
    assert 429 in statuses


def test_simultaneous_failures_each_count(app, session):
    """Attempts in parallel (several web processes) are counted in the database, none lost."""
    factories.make_user(session, email="parallel@example.org")
    session.commit()
    attempts = 6
    barrier = threading.Barrier(attempts)
    now = utcnow()
    policy = services.LoginPolicy(max_failures=100)

    def attempt() -> None:
        with app.app_context():
            barrier.wait()
            services.authenticate(
                db.session,
                "parallel@example.org",
                "wrong password",
                client="192.0.2.9",
                now=now,
                policy=policy,
            )
            db.session.commit()
            db.session.remove()

    threads = [threading.Thread(target=attempt) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    session.expire_all()
    assert session.scalar(select(User.failed_logins).where(User.email == "parallel@example.org")) == attempts


def test_an_operators_application_wide_limit_still_counts_page_views(app_config, app):
    # Our own limits are on POSTs only, so page views skip the limiter unless an operator
    # limits every request (COMMSPLAN_RATELIMIT_APPLICATION).
    limited = create_app(app_config | {"RATELIMIT_APPLICATION": "3 per minute"})
    try:
        client = limited.test_client()
        assert [client.get("/accessibility").status_code for _ in range(4)] == [200, 200, 200, 429]
    finally:
        with limited.app_context():
            db.engine.dispose()
        # The extension object serves every app of this process, and Flask-Limiter keeps
        # application limits once set: left there, every later test would meet them.
        limiter.limit_manager.set_application_limits([])
