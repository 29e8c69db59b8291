"""Money is Decimal in Python, NUMERIC in PostgreSQL and a string in JSON."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel

CENT = Decimal("0.01")


def quantize(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


class Money(BaseModel):
    amount: str
    currency: str


def money(amount: Decimal, currency: str) -> Money:
    return Money(amount=str(quantize(amount)), currency=currency)
