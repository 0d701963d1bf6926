"""Account operations. No request or view imports here."""

from __future__ import annotations

import secrets

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from commsplan.auth.models import Role, User

MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    """A user-facing reason why an account operation was refused."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            ngettext(
                "Lösenordet måste ha minst %(num)d tecken.",
                "Lösenordet måste ha minst %(num)d tecken.",
                MIN_PASSWORD_LENGTH,
            )
        )


def create_user(session: Session, email: str, password: str, role: Role, name: str = "") -> User:
    if find_user(session, email) is not None:
        raise AccountError(_("Det finns redan ett konto med den e-postadressen."))
    check_password_strength(password)
    user = User(email=normalise_email(email), name=name.strip(), role=role, active=True)
    user.set_password(password)
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = find_user(session, email)
    if user is None or not user.active or not user.check_password(password):
        return None
    return user


def active_admin_count(session: Session) -> int:
    return (
        session.scalar(select(func.count()).select_from(User).where(User.role == Role.admin, User.active))
        or 0
    )


def update_user(
    session: Session, user: User, *, name: str, role: Role, active: bool, password: str = ""
) -> None:
    """Change an account; refuses to leave the system without an active admin."""
    losing_admin = user.role == Role.admin and user.active and (role != Role.admin or not active)
    if losing_admin and active_admin_count(session) <= 1:
        raise AccountError(_("Det måste finnas minst en aktiv administratör."))
    if password:
        check_password_strength(password)
        user.set_password(password)
    user.name = name.strip()
    user.role = role
    user.active = active


def delete_user(session: Session, user: User) -> None:
    if user.role == Role.admin and user.active and active_admin_count(session) <= 1:
        raise AccountError(_("Det måste finnas minst en aktiv administratör."))
    session.delete(user)
