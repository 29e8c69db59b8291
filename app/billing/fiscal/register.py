"""The fiscal register port: what billing asks of a cloud cash register.

One adapter implements it (:mod:`app.billing.fiscal.webkassa`); tests and the
stub speak the same shape. Failures come in two kinds:

- :class:`RegisterUnavailable`: no answer, a 5xx, a timeout. The receipt may or
  may not have been issued; asking again with the same external number is safe
  (the register answers a duplicate with the receipt it already has).
- :class:`RegisterRefused`: a definite refusal (bad data, wrong credentials).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import IntEnum
from typing import Protocol


class Operation(IntEnum):
    SALE = 2
    RETURN = 3


@dataclass(frozen=True)
class Position:
    name: str
    code: str  # the national catalogue code of the good or service
    count: Decimal
    price: Decimal  # per unit, VAT included
    tax_percent: Decimal  # 0 when the seller is not a VAT payer
    tax: Decimal  # the VAT inside count * price
    unit_code: int


@dataclass(frozen=True)
class CheckRequest:
    operation: Operation
    external_number: str  # our idempotency key, stable per outbox fact
    positions: tuple[Position, ...]
    total: Decimal
    customer_email: str | None = None


@dataclass(frozen=True)
class IssuedCheck:
    fiscal_number: str
    issued_at: datetime
    offline: bool
    ticket_url: str
    registration_number: str | None = None
    identity_number: str | None = None
    ofd_name: str | None = None
    ofd_host: str | None = None
    # True when the register already had it (a repeat of an external number).
    repeated: bool = False
    raw: dict[str, object] = field(default_factory=dict, compare=False)


class RegisterError(Exception):
    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class RegisterUnavailable(RegisterError):
    """No answer we can trust: try again later with the same external number."""


class RegisterRefused(RegisterError):
    """The register said no: the same request will not do better."""


class Register(Protocol):
    def issue(self, check: CheckRequest) -> IssuedCheck: ...

    def close_shift(self) -> dict[str, object]: ...
