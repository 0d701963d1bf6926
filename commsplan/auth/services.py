"""Account operations. No request or view imports here."""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from commsplan.auth.models import Role, User, password_hash_method

MIN_PASSWORD_LENGTH = 10

log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class LoginPolicy:
    """When failed log-ins lock an account: from ``max_failures`` failures in a row on,
    each further failure locks it for twice as long as the one before, up to ``max_lockout``."""

    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=1)
    max_lockout: timedelta = timedelta(hours=1)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> LoginPolicy:
        return cls(
            max_failures=int(config.get("LOGIN_MAX_FAILURES", cls.max_failures)),
            lockout=timedelta(
                seconds=float(config.get("LOGIN_LOCKOUT_SECONDS", cls.lockout.total_seconds()))
            ),
            max_lockout=timedelta(
                seconds=float(config.get("LOGIN_MAX_LOCKOUT_SECONDS", cls.max_lockout.total_seconds()))
            ),
        )

    def lockout_after(self, failures: int) -> timedelta | None:
        """How long ``failures`` failed log-ins in a row lock the account; None: not at all."""
        if failures < self.max_failures:
            return None
        doublings = min(failures - self.max_failures, 30)  # 2**30 minutes is past any cap
        return min(self.lockout * 2**doublings, self.max_lockout)


@functools.cache
def _unknown_account_hash(method: str) -> str:
    """A hash no password matches, checked for addresses without an account so that
    they take as long to refuse as a wrong password (the time must not tell them apart)."""
    return generate_password_hash(secrets.token_urlsafe(32), method=method)


def authenticate(
    session: Session, email: str, password: str, *, client: str, now: datetime, policy: LoginPolicy
) -> User | None:
    """The account if ``password`` is right and it may log in now; the caller commits.

    Every path checks exactly one password hash, and every refusal looks the same to the
    caller: unknown address, wrong password, inactive or locked account.
    """
    user = find_user(session, email)
    if user is None:
        check_password_hash(_unknown_account_hash(password_hash_method()), password)
        return None
    password_ok = user.check_password(password)
    if user.locked_until is not None and user.locked_until > now:
        return None  # tries during a lock-out neither count nor get in
    if not user.active:
        return None
    if password_ok:
        if user.failed_logins or user.locked_until is not None:
            user.failed_logins = 0
            user.locked_until = None
        return user
    _record_failure(session, user, client=client, now=now, policy=policy)
    return None


def _record_failure(session: Session, user: User, *, client: str, now: datetime, policy: LoginPolicy) -> None:
    # Incremented in the database, not in Python: parallel attempts in several processes
    # must each count (the row lock serialises them on PostgreSQL).
    failures = session.execute(
        update(User)
        .where(User.id == user.id)
        .values(failed_logins=User.failed_logins + 1)
        .returning(User.failed_logins)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    lockout = policy.lockout_after(failures)
    if lockout is not None:
        until = now + lockout
        session.execute(
            update(User)
            .where(User.id == user.id)
            .values(locked_until=until)
            .execution_options(synchronize_session=False)
        )
        log.warning(
            "Log-in locked for account %s until %s after %d failed attempts in a row (client %s)",
            user.email,
            until.isoformat(timespec="seconds"),
            failures,
            client,
        )
    session.expire(user, ["failed_logins", "locked_until"])


def user_for_session(session: Session, session_id: str) -> User | None:
    """The account a session or remember cookie names ("id:token"), if it still may use it.

    The token changes on log-out, a new password and deactivation, so a cookie copied
    before then loads no one.
    """
    user_id, _sep, token = session_id.partition(":")
    if not user_id.isdigit() or len(user_id) > 18 or not token:
        return None
    user = session.get(User, int(user_id))
    if (
        user is None
        or not user.active
        or not secrets.compare_digest(user.session_token.encode(), token.encode())
    ):
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
    if user.active and not active:
        user.end_sessions()
    user.name = name.strip()
    user.role = role
    user.active = active


def delete_user(session: Session, user: User) -> None:
    if user.role == Role.admin and user.active and active_admin_count(session) <= 1:
        raise AccountError(_("Det måste finnas minst en aktiv administratör."))
    session.delete(user)
