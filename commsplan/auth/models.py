from __future__ import annotations

import enum
import secrets
from datetime import datetime

from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy import Boolean, Enum, Integer, String
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from commsplan.extensions import db
from commsplan.timeutil import utcnow
from commsplan.types import UTCDateTime


class Role(enum.Enum):
    """Ordered from least to most privileged; ``rank`` compares them."""

    viewer = "viewer"
    coordinator = "coordinator"
    admin = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, required: Role) -> bool:
        return self.rank >= required.rank


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


def password_hash_method() -> str:
    # Configurable so the test suite can use a cheap hash; production keeps scrypt.
    return current_app.config.get("PASSWORD_HASH_METHOD", "scrypt") if has_app_context() else "scrypt"


class User(UserMixin, db.Model):
    """An account. ``session_token`` is part of every session and remember cookie (see
    ``get_id``): replacing it ends every session the account has, also copied cookies."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    # Failed log-ins since the last successful one; from a threshold on, each locks the
    # account for a growing time (``auth.services.authenticate``).
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def set_password(self, password: str) -> None:
        """Set a new password and end every existing session of the account."""
        self.password_hash = generate_password_hash(password, method=password_hash_method())
        self.end_sessions()

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def end_sessions(self) -> None:
        """Make every session and remember cookie issued so far stop working."""
        self.session_token = new_session_token()

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active

    def has_role(self, required: Role) -> bool:
        return self.role.allows(required)

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role.value}>"
