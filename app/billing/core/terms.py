"""A transaction's terms: what its purchase intent fixed and nothing changes afterwards.

One shape for everything that checks a provider's answer against a transaction or
settles it without reloading the row: the purchase's reply, the settle batch's
one-statement completion, the verification of a "paid" answer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

# The columns of ``transactions`` that hold the terms, in the dataclass's field order.
TERMS_COLUMNS = (
    "id",
    "product_code",
    "quantity",
    "amount",
    "currency",
    "created_at",
    "expires_at",
)


@dataclass(frozen=True)
class Terms:
    id: uuid.UUID
    product_code: str
    quantity: int
    amount: Decimal
    currency: str
    created_at: datetime
    expires_at: datetime  # our own pending TTL

    @classmethod
    def of(cls, row: Any) -> Terms:
        """The terms of a row or ORM object that has the :data:`TERMS_COLUMNS`."""
        return cls(*(getattr(row, name) for name in TERMS_COLUMNS))
