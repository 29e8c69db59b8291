"""HS256 JWTs: `sub` is the user id, `exp` is honoured, `roles` grants roles
(:mod:`app.auth.roles`)."""

from __future__ import annotations

import time
from typing import Any

import jwt

ALGORITHM = "HS256"
MAX_SUB_LENGTH = 128
MAX_CLAIM_LENGTH = 200  # email, name: what the users table stores
PROFILE_CLAIMS = ("email", "name")


class InvalidToken(Exception):
    pass


def issue_token(
    secret: str,
    user_id: str,
    ttl_s: int,
    *,
    email: str | None = None,
    name: str | None = None,
    roles: tuple[str, ...] = (),
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {"sub": user_id, "iat": now, "exp": now + ttl_s}
    if roles:
        claims["roles"] = list(roles)
    if email:
        claims["email"] = email
    if name:
        claims["name"] = name
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_token(secret: str, token: str) -> dict[str, Any]:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["sub", "exp"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("token has expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken("token is invalid") from exc
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.strip() or not _storable(sub, MAX_SUB_LENGTH):
        raise InvalidToken("token subject is invalid")
    for name in PROFILE_CLAIMS:
        value = claims.get(name)
        # Non-string profile claims are ignored (see services); strings must fit.
        if isinstance(value, str) and not _storable(value, MAX_CLAIM_LENGTH):
            raise InvalidToken(f"token claim {name!r} is invalid")
    return claims


def _storable(value: str, max_length: int) -> bool:
    """Whether PostgreSQL text can hold ``value`` as the claim we store.

    A validly signed token is still client input: NUL, lone surrogates or an
    over-long claim would otherwise fail in the users INSERT as a 500.
    """
    if len(value) > max_length or "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
