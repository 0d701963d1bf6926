from __future__ import annotations

from sqlalchemy import func, select

from commsplan.auth.models import Role, User
from tests import factories


def test_anonymous_is_sent_to_login(client):
    response = client.get("/users")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_login_with_wrong_password_is_refused_in_swedish(client, session):
    factories.make_user(session, email="a@example.org")
    session.commit()
    response = client.post("/login", data={"email": "a@example.org", "password": "fel"})
    assert response.status_code == 401
    assert "Fel e-postadress eller lösenord" in response.get_data(as_text=True)


def test_login_does_not_redirect_off_site(client, session):
    factories.make_user(session, email="a@example.org")
    session.commit()
    response = client.post(
        "/login?next=//evil.example.com/x", data={"email": "a@example.org", "password": factories.PASSWORD}
    )
    assert response.status_code == 302
    assert "evil" not in response.headers["Location"]


def test_inactive_user_cannot_log_in(client, session):
    factories.make_user(session, email="off@example.org", active=False)
    session.commit()
    response = client.post("/login", data={"email": "off@example.org", "password": factories.PASSWORD})
    assert response.status_code == 401


def test_only_admins_manage_users(client, auth):
    auth.login(Role.coordinator)
    assert client.get("/users").status_code == 403
    assert client.post("/users/new", data={"email": "x@example.org"}).status_code == 403


def test_admin_creates_user_and_bad_input_stores_nothing(client, auth, session):
    auth.login(Role.admin)
    bad = client.post(
        "/users/new",
        data={"email": "not-an-address", "role": "viewer", "password": "short", "confirm": "short"},
    )
    assert bad.status_code == 400
    assert session.scalar(select(func.count()).select_from(User)) == 1
    good = client.post(
        "/users/new",
        data={
            "email": "New@Example.org",
            "role": "viewer",
            "password": "a long password",
            "confirm": "a long password",
        },
    )
    assert good.status_code == 302
    created = session.scalar(select(User).where(User.email == "new@example.org"))
    assert created is not None and created.role == Role.viewer


def test_last_admin_cannot_be_demoted(client, auth, session):
    auth.login(Role.admin)
    admin = session.scalar(select(User).where(User.email == "admin@example.org"))
    response = client.post(f"/users/{admin.id}/edit", data={"name": "x", "role": "viewer", "active": "y"})
    assert response.status_code == 400
    session.expire_all()
    assert session.get(User, admin.id).role == Role.admin


def test_create_user_command_reads_password_from_stdin(runner, session):
    result = runner.invoke(
        args=["commsplan", "create-user", "cli@example.org", "--role", "coordinator"],
        input="a long password\n",
    )
    assert result.exit_code == 0, result.output
    user = session.scalar(select(User).where(User.email == "cli@example.org"))
    assert user.role == Role.coordinator and user.check_password("a long password")


def test_create_user_command_refuses_short_password(runner, session):
    result = runner.invoke(args=["commsplan", "create-user", "cli@example.org"], input="kort\n")
    assert result.exit_code != 0
    assert "minst" in result.output
    assert session.scalar(select(User).where(User.email == "cli@example.org")) is None


def test_demo_admin_is_created_once_and_its_password_printed_each_time(runner, session, client):
    first = runner.invoke(args=["commsplan", "demo-admin"])
    second = runner.invoke(args=["commsplan", "demo-admin"])
    assert first.exit_code == 0 and first.output == second.output
    password = first.output.split("lösenord:")[1].strip()
    assert session.scalar(select(func.count()).select_from(User)) == 1
    response = client.post("/login", data={"email": "admin@example.org", "password": password})
    assert response.status_code == 302
