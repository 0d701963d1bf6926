"""Bearer tokens: created once, stored as a hash, revocable."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from commsplan.api.models import ApiToken
from commsplan.auth.models import User
from commsplan.timeutil import utcnow

TOKEN_PREFIX = "cp_"  # noqa: S105 - a marker, not a secret


class TokenError(ValueError):
    """The message is for the user."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, user: User, name: str = "") -> tuple[ApiToken, str]:
    """A new token for ``user``; the plain token is returned once and never stored."""
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user=user, name=name.strip()[:200], token_hash=_digest(plain), prefix=plain[:10])
    session.add(row)
    session.flush()
    return row, plain


def create_token_for_email(session: Session, email: str, name: str = "") -> tuple[ApiToken, str]:
    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise TokenError(f"Det finns inget konto med adressen {email}.")
    return create_token(session, user, name)


def authenticate(session: Session, token: str) -> User | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    row.last_used_at = utcnow()
    return row.user


def revoke(session: Session, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()


def find(session: Session, ident: str) -> list[ApiToken]:
    """Tokens matching an id, a shown prefix or a plain token (for the CLI)."""
    if ident.isdigit():
        row = session.get(ApiToken, int(ident))
        return [row] if row else []
    if ident.startswith(TOKEN_PREFIX) and len(ident) > 20:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(ident)))
        return [row] if row else []
    return list(session.scalars(select(ApiToken).where(ApiToken.prefix == ident)))


def tokens_of(session: Session, user: User | None) -> list[ApiToken]:
    query = select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    if user is not None:
        query = query.where(ApiToken.user_id == user.id)
    return list(session.scalars(query))
