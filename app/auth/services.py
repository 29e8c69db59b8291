from __future__ import annotations

from flask import current_app, g, request
from sqlalchemy.dialects.postgresql import insert

from app.auth.models import User
from app.auth.tokens import InvalidToken, decode_token
from app.domain_errors import Unauthenticated
from app.extensions import db


def _unauthenticated(message: str) -> Unauthenticated:
    return Unauthenticated("UNAUTHENTICATED", message)


def authenticate_request() -> User:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthenticated("A Bearer token is required")
    try:
        claims = decode_token(current_app.config["AUTH_JWT_SECRET"], token.strip())
    except InvalidToken as exc:
        raise _unauthenticated(str(exc).capitalize()) from exc
    return provision_user(claims["sub"], _text(claims.get("email")), _text(claims.get("name")))


def _text(value: object) -> str | None:
    return value[:200] if isinstance(value, str) else None


def provision_user(user_id: str, email: str | None = None, name: str | None = None) -> User:
    """Create the user on first sight; concurrent first requests race safely.

    A plain read first: almost every request comes from a known user, and the
    status poll should not write.
    """
    user = db.session.get(User, user_id)
    if user is not None:
        return user
    stmt = (
        insert(User)
        .values(id=user_id, email=email, name=name)
        .on_conflict_do_nothing(index_elements=[User.id])
    )
    db.session.execute(stmt)
    user = db.session.get(User, user_id)
    if user is None:  # inserted just now or by a concurrent request; users are never deleted
        raise Unauthenticated("UNAUTHENTICATED", "Unknown user")
    return user


def current_user() -> User:
    user: User = g.user
    return user


def current_user_id() -> str:
    """The caller's id; safe to read after a COMMIT (a plain string, not an ORM row)."""
    user_id: str = g.user_id
    return user_id
