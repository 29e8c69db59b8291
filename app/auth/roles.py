"""Roles a token grants (its ``roles`` claim): who may use the operator console.

A role is part of the signed token, not of the users table: whoever issues tokens
(the identity provider; ``flask auth token --operator`` in development) decides who
is an operator, and a buyer's token can never grant itself one.
"""

from __future__ import annotations

from typing import Any

from app.domain_errors import Forbidden

# The operator console (/ops and /api/ops/...): the review queue, resolve, refunds.
OPERATOR = "billing_operator"


def roles_of(claims: dict[str, Any]) -> frozenset[str]:
    """The roles in verified claims; anything but a list of strings grants none."""
    roles = claims.get("roles")
    if not isinstance(roles, list):
        return frozenset()
    return frozenset(role for role in roles if isinstance(role, str))


def require_role(claims: dict[str, Any], role: str) -> None:
    """403 ``FORBIDDEN`` unless the caller's token grants ``role``."""
    if role not in roles_of(claims):
        raise Forbidden("FORBIDDEN", f"this needs the {role} role")
