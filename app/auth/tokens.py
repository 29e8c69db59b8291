"""HS256 JWTs: `sub` is the user id, `exp` is honoured."""

from __future__ import annotations

import time
from typing import Any

import jwt

ALGORITHM = "HS256"


class InvalidToken(Exception):
    pass


def issue_token(
    secret: str, user_id: str, ttl_s: int, *, email: str | None = None, name: str | None = None
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {"sub": user_id, "iat": now, "exp": now + ttl_s}
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
    if not isinstance(sub, str) or not sub.strip() or len(sub) > 128:
        raise InvalidToken("token subject is invalid")
    return claims
