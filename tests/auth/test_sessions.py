"""Sessions end when they should: copied cookies stop working; production cookie flags."""

from __future__ import annotations

from http.cookies import SimpleCookie

import pytest
from sqlalchemy import select

from commsplan import create_app
from commsplan.auth.models import Role, User
from tests import factories


def _copy_of(client, name):
    cookie = client.get_cookie(name)
    assert cookie is not None, name
    return cookie.value


def _replay(app, name, value):
    """A fresh client (another browser) carrying only the copied cookie."""
    thief = app.test_client()
    thief.set_cookie(name, value)
    return thief.get("/users")


def _is_sent_to_login(response):
    return response.status_code == 302 and "/login" in response.headers["Location"]


def _log_in(client, session, email, role=Role.admin, remember=False):
    factories.make_user(session, email=email, role=role)
    session.commit()
    data = {"email": email, "password": factories.PASSWORD}
    if remember:
        data["remember"] = "y"
    assert client.post("/login", data=data).status_code == 302


def test_copied_session_cookie_stops_working_after_log_out(app, client, session):
    _log_in(client, session, "a@example.org")
    copied = _copy_of(client, "session")
    assert _replay(app, "session", copied).status_code == 200  # the copy works while logged in
    client.post("/logout")
    assert _is_sent_to_login(_replay(app, "session", copied))


def test_copied_remember_cookie_stops_working_after_log_out(app, client, session):
    _log_in(client, session, "a@example.org", remember=True)
    copied = _copy_of(client, "remember_token")
    assert _replay(app, "remember_token", copied).status_code == 200
    client.post("/logout")
    assert _is_sent_to_login(_replay(app, "remember_token", copied))


@pytest.fixture
def admin(app):
    client = app.test_client()
    factories.make_user(app.extensions["sqlalchemy"].session, email="boss@example.org", role=Role.admin)
    app.extensions["sqlalchemy"].session.commit()
    client.post("/login", data={"email": "boss@example.org", "password": factories.PASSWORD})
    return client


@pytest.mark.parametrize("cookie", ["session", "remember_token"])
def test_copied_cookies_stop_working_after_an_admin_resets_the_password(app, client, session, admin, cookie):
    _log_in(client, session, "u@example.org", remember=True)
    copied = _copy_of(client, cookie)
    user = session.scalar(select(User).where(User.email == "u@example.org"))
    response = admin.post(
        f"/users/{user.id}/edit",
        data={"name": "U", "role": "admin", "active": "y", "password": "a new password!"},
    )
    assert response.status_code == 302
    assert _is_sent_to_login(_replay(app, cookie, copied))
    assert _is_sent_to_login(client.get("/users"))  # the user's own browser too
    assert (
        client.post("/login", data={"email": "u@example.org", "password": "a new password!"}).status_code
        == 302
    )


@pytest.mark.parametrize("cookie", ["session", "remember_token"])
def test_copied_cookies_stop_working_after_deactivation(app, client, session, admin, cookie):
    _log_in(client, session, "u@example.org", remember=True)
    copied = _copy_of(client, cookie)
    user = session.scalar(select(User).where(User.email == "u@example.org"))
    response = admin.post(f"/users/{user.id}/edit", data={"name": "U", "role": "admin"})  # active unticked
    assert response.status_code == 302
    assert _is_sent_to_login(_replay(app, cookie, copied))
    # Turning the account on again does not bring old cookies back.
    admin.post(f"/users/{user.id}/edit", data={"name": "U", "role": "admin", "active": "y"})
    assert _is_sent_to_login(_replay(app, cookie, copied))


def test_admin_who_changes_their_own_password_stays_logged_in(client, session):
    _log_in(client, session, "self@example.org")
    me = session.scalar(select(User).where(User.email == "self@example.org"))
    response = client.post(
        f"/users/{me.id}/edit",
        data={"name": "Me", "role": "admin", "active": "y", "password": "a new password!"},
    )
    assert response.status_code == 302
    assert client.get("/users").status_code == 200


def test_a_cookie_from_before_session_tokens_loads_no_one(app, session):
    user = factories.make_user(session, email="old@example.org", role=Role.admin)
    session.commit()
    old = app.test_client()
    with old.session_transaction() as cookie_session:
        cookie_session["_user_id"] = str(user.id)  # what Flask-Login stored before
        cookie_session["_fresh"] = True
    assert _is_sent_to_login(old.get("/users"))


def _set_cookies(response):
    parsed = {}
    for header in response.headers.getlist("Set-Cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        for name, morsel in cookie.items():
            parsed[name] = (morsel, header)
    return parsed


def test_production_cookies_are_secure_httponly_and_samesite_lax(app_config, session, tmp_path, monkeypatch):
    factories.make_user(session, email="prod@example.org", role=Role.admin)
    session.commit()
    production = create_app({**app_config, "ENV": "production", "SECRET_KEY": "production-test-key"})
    response = production.test_client().post(
        "/login", data={"email": "prod@example.org", "password": factories.PASSWORD, "remember": "y"}
    )
    assert response.status_code == 302
    cookies = _set_cookies(response)
    for name in ("session", "remember_token"):
        morsel, header = cookies[name]
        assert morsel["secure"] is True, header
        assert morsel["httponly"] is True, header
        assert morsel["samesite"] == "Lax", header


def test_development_cookies_are_httponly_and_samesite_lax_too(client, session):
    factories.make_user(session, email="dev@example.org", role=Role.admin)
    session.commit()
    response = client.post(
        "/login", data={"email": "dev@example.org", "password": factories.PASSWORD, "remember": "y"}
    )
    for name in ("session", "remember_token"):
        morsel, header = _set_cookies(response)[name]
        assert morsel["httponly"] is True and morsel["samesite"] == "Lax", header
