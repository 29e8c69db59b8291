from __future__ import annotations

from typing import Any

from flask import g
from sqlalchemy.dialects.postgresql import insert

from app.auth.models import User
from app.auth.tokens import InvalidToken, decode_token
from app.domain_errors import Unauthenticated
from app.extensions import db
from app.request_locals import current_request, flask_app, request_globals


def _unauthenticated(message: str) -> Unauthenticated:
    return Unauthenticated("UNAUTHENTICATED", message)


def _claims() -> dict[str, Any]:
    header = current_request().headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthenticated("A Bearer token is required")
    try:
        claims = decode_token(flask_app().config["AUTH_JWT_SECRET"], token.strip())
    except InvalidToken as exc:
        raise _unauthenticated(str(exc).capitalize()) from exc
    request_globals().auth_claims = claims
    return claims


def authenticate_request() -> User:
    """Verify the token and provision its user (endpoints that write)."""
    claims = _claims()
    return provision_user(claims["sub"], _text(claims.get("email")), _text(claims.get("name")))


def authenticate_token() -> str:
    """Verify the token; answers its subject without touching the database.

    Reads filter by owner, and a user nobody has seen owns nothing, so a read
    needs no user row.
    """
    subject: str = _claims()["sub"]
    return subject


def user_row_insert(rows: str = "VALUES (:user_id, :user_email, :user_name)") -> str:
    """SQL that creates the caller's user row from ``rows`` if missing (parameters
    ``user_id``, ``user_email``, ``user_name``: :func:`current_user_row`).

    Concurrent first requests race safely. A writer makes it a CTE of its own first
    statement; as text, because SQLAlchemy compiles a Core ON CONFLICT insert anew
    on every execution.
    """
    return f"INSERT INTO users (id, email, name) {rows} ON CONFLICT (id) DO NOTHING"


def current_user_row() -> dict[str, str | None]:
    """The verified caller's user row as the token describes it.

    For multi-step writers that authenticate without provisioning and create the
    row in their own first statement (saving a step of its own): see
    :func:`user_row_insert`.
    """
    claims = g.auth_claims
    return {
        "user_id": claims["sub"],
        "user_email": _text(claims.get("email")),
        "user_name": _text(claims.get("name")),
    }


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
    """The caller's row; loaded on first use where the endpoint did not provision."""
    if g.get("user") is None:
        g.user = db.session.get(User, g.user_id)
    user: User = g.user
    return user


def current_user_id() -> str:
    """The caller's id; safe to read after a COMMIT (a plain string, not an ORM row)."""
    user_id: str = request_globals().user_id
    return user_id
