"""Money is Decimal in Python, NUMERIC in PostgreSQL and a string in JSON."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum

from pydantic import BaseModel

CENT = Decimal("0.01")


def quantize(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


class Wrong(StrEnum):
    """Why an amount is not a sum of money we can charge or return."""

    NOT_FINITE = "not_finite"  # NaN or infinity
    TOO_PRECISE = "too_precise"  # more than two decimals
    NOT_POSITIVE = "not_positive"
    OUT_OF_RANGE = "out_of_range"  # too large to have cents


class NotCents(ValueError):
    def __init__(self, amount: Decimal, wrong: Wrong) -> None:
        super().__init__(f"{amount!r}: {wrong}")
        self.wrong = wrong


def exact_cents(amount: Decimal) -> Decimal:
    """``amount`` as an exact sum in cents: finite, at most two decimals, above zero.

    The one money check of the service and the Kaspi stub; each caller words
    :class:`NotCents`' reason for its own audience.
    """
    if not amount.is_finite():
        raise NotCents(amount, Wrong.NOT_FINITE)
    try:
        cents = amount.quantize(CENT)
    except InvalidOperation:
        raise NotCents(amount, Wrong.OUT_OF_RANGE) from None
    if cents != amount:
        raise NotCents(amount, Wrong.TOO_PRECISE)
    if cents <= 0:
        raise NotCents(amount, Wrong.NOT_POSITIVE)
    return cents


class Money(BaseModel):
    amount: str
    currency: str


def money(amount: Decimal, currency: str) -> Money:
    return Money(amount=str(quantize(amount)), currency=currency)
