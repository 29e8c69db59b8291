"""The period arithmetic of renewals and the proration of upgrades, as tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from app.clubs.subscriptions import Bought, Current, period_bought
from app.clubs.transitions import SubStatus
from app.renewals.proration import days_left, prorated_difference

pytestmark = pytest.mark.unit

T = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)  # the current period's end
DAY = timedelta(days=1)
PERIOD = timedelta(days=30)


def current(status: SubStatus, plan: str = "club_50") -> Current:
    return Current(plan, status, T - PERIOD, T)


@pytest.mark.parametrize(
    ("case", "cur", "plan", "now", "kind", "expected"),
    [
        # Renew early: the next period follows the current one; no day is lost.
        (
            "early",
            current(SubStatus.ACTIVE),
            "club_50",
            T - 5 * DAY,
            "renewal",
            Bought(T, T + PERIOD, switch_now=False),
        ),
        (
            "on the last second",
            current(SubStatus.ACTIVE),
            "club_50",
            T - timedelta(seconds=1),
            "renewal",
            Bought(T, T + PERIOD, switch_now=False),
        ),
        # Renew in grace: from the period's end, so the grace days are not free.
        (
            "in grace",
            current(SubStatus.GRACE),
            "club_50",
            T + 3 * DAY,
            "renewal",
            Bought(T, T + PERIOD, switch_now=True),
        ),
        # The same plan bought by a plain purchase intent counts as a renewal.
        (
            "same plan, purchase",
            current(SubStatus.GRACE),
            "club_50",
            T + 3 * DAY,
            None,
            Bought(T, T + PERIOD, switch_now=True),
        ),
        # After expiry: a new period from the payment.
        (
            "after expiry",
            current(SubStatus.EXPIRED),
            "club_50",
            T + 9 * DAY,
            "renewal",
            Bought(T + 9 * DAY, T + 9 * DAY + PERIOD, switch_now=True),
        ),
        ("never subscribed", None, "club_50", T, None, Bought(T, T + PERIOD, switch_now=True)),
        # A cheaper plan renewed early starts at the period end (a scheduled change).
        (
            "downgrade renewal",
            current(SubStatus.ACTIVE, "club_500"),
            "club_50",
            T - 5 * DAY,
            "renewal",
            Bought(T, T + PERIOD, switch_now=False),
        ),
        # An upgrade: the dearer plan now, the period end kept.
        (
            "upgrade",
            current(SubStatus.ACTIVE),
            "club_500",
            T - 10 * DAY,
            "upgrade",
            Bought(T - 10 * DAY, T, switch_now=True),
        ),
        # An upgrade paid once the period ended buys no leftover days: a new period.
        (
            "upgrade in grace",
            current(SubStatus.GRACE),
            "club_500",
            T + DAY,
            "upgrade",
            Bought(T + DAY, T + DAY + PERIOD, switch_now=True),
        ),
        # Another plan through a plain purchase intent: it starts now (as before).
        (
            "switch, purchase",
            current(SubStatus.ACTIVE),
            "club_500",
            T - 10 * DAY,
            None,
            Bought(T - 10 * DAY, T + 20 * DAY, switch_now=True),
        ),
    ],
)
def test_period_bought(case, cur, plan, now, kind, expected):
    got = period_bought(
        cur, plan, PERIOD, now, renewal=kind == "renewal", upgrade=kind == "upgrade"
    )
    assert got == expected, case


@pytest.mark.parametrize(
    ("left", "expected"),
    [
        (timedelta(days=10), 10),
        (timedelta(days=9, seconds=1), 10),  # a started day counts
        (timedelta(seconds=1), 1),
        (timedelta(0), 0),
        (-DAY, 0),
    ],
)
def test_days_left(left, expected):
    assert days_left(T, T - left) == expected


@pytest.mark.parametrize(
    ("old", "new", "left", "amount"),
    [
        # club_50 → club_500, 10 of 30 days: (15000 - 5000) * 10 / 30 = 3333.333… → 3333.33
        ("5000.00", "15000.00", 10, "3333.33"),
        # 20 days: 6666.666… → 6666.67 (half up at the tiyn)
        ("5000.00", "15000.00", 20, "6666.67"),
        # club_500 → club_unlimited, 1 day: 15000 / 30 = 500.00
        ("15000.00", "30000.00", 1, "500.00"),
        # a whole period left: the whole difference
        ("5000.00", "30000.00", 30, "25000.00"),
        # exactly half a tiyn rounds up: 0.03 * 1 / 2 = 0.015 → 0.02
        ("0.00", "0.03", 1, "0.02"),
        # no days left: nothing to pay
        ("5000.00", "15000.00", 0, "0.00"),
    ],
)
def test_prorated_difference(old, new, left, amount):
    period_days = 2 if new == "0.03" else 30
    assert prorated_difference(Decimal(old), Decimal(new), period_days, left) == Decimal(amount)


@pytest.mark.parametrize("left", range(31))
def test_the_buyer_pays_the_value_of_the_days_got(left):
    """Paid for the upgrade plus the old plan's value of the same days equals the new
    plan's value of them, to the tiyn (each side rounded once)."""
    old, new = Decimal("5000.00"), Decimal("15000.00")
    paid = prorated_difference(old, new, 30, left)
    value_new = (new * left / 30).quantize(Decimal("0.01"))
    value_old = (old * left / 30).quantize(Decimal("0.01"))
    assert abs(paid - (value_new - value_old)) <= Decimal("0.01")
