"""What an upgrade in the middle of a period costs (docs/BILLING.md, "Fair switches").

    days_left = ceil((period_end - now) / 1 day), at most the period's days
    amount    = round_half_up((new_price - old_price) * days_left / period_days, 0.01)

A started day counts as a day left: the buyer gets the better plan for the whole
of it. The rounding is to the tiyn, half up, once, at the end.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

TIYN = Decimal("0.01")
DAY = timedelta(days=1)


def days_left(period_end: datetime, now: datetime) -> int:
    """Whole days until ``period_end``, a started day counting as one; 0 once it has passed."""
    remaining = period_end - now
    if remaining <= timedelta(0):
        return 0
    return -(-remaining // DAY)


def prorated_difference(
    old_price: Decimal, new_price: Decimal, period_days: int, left: int
) -> Decimal:
    """The price of ``left`` days of the dearer plan less the same days of the cheaper one."""
    left = min(max(left, 0), period_days)
    exact = (new_price - old_price) * left / Decimal(period_days)
    return exact.quantize(TIYN, rounding=ROUND_HALF_UP)
