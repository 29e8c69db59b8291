"""Failures the domain reports, independent of HTTP or the command line.

Services raise these; the HTTP layer (:mod:`app.errors`) maps each kind to a status
and the error envelope, and CLI commands turn them into a message and exit code.
``code`` is the stable machine-readable code clients see; ``extra`` carries
structured fields (a paywall's options, a conflict's current status).
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    def __init__(
        self, code: str, message: str, *, retry_after_s: int | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after_s = retry_after_s
        self.extra = extra


class Unauthenticated(DomainError):
    """The caller did not prove who they are."""


class InvalidRequest(DomainError):
    """The input breaks a rule; ``extra['details']`` names the fields."""


class NotFound(DomainError):
    """No such thing, or not one the caller may know exists."""


class Forbidden(DomainError):
    """The caller may see it but not do this."""


class Conflict(DomainError):
    """The thing is in a state that does not allow this now."""


class Unprocessable(DomainError):
    """Well-formed, but contradicts an earlier request (an idempotency key reused)."""


class PaymentRequired(DomainError):
    """A paywall: what the caller could buy is in ``extra``."""


class Unavailable(DomainError):
    """A dependency (the payment provider, the database) did not answer; retry later."""


def invalid_field(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(
        "VALIDATION_ERROR",
        "Invalid request",
        details=[{"field": field, "message": message, "type": "value_error"}],
    )
