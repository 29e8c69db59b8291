"""The club subscription status machine.

``active → grace`` when the period ends, ``grace → expired`` when grace ends
(the lifecycle task), and back to ``active`` when a period is paid for. A paid
period on an active subscription (an extension, a plan switch) stays ``active``.
A refund that takes the period back may end it at once (``expired``).
"""

from __future__ import annotations

from enum import StrEnum

from app.clubs.models import ClubSubscription
from app.state_machine import TransitionTable


class SubStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    GRACE = "grace"
    EXPIRED = "expired"


SUBSCRIPTION_MOVES: TransitionTable[SubStatus] = TransitionTable(
    "subscription",
    {
        SubStatus.PENDING: frozenset({SubStatus.ACTIVE, SubStatus.EXPIRED}),
        SubStatus.ACTIVE: frozenset({SubStatus.ACTIVE, SubStatus.GRACE, SubStatus.EXPIRED}),
        SubStatus.GRACE: frozenset({SubStatus.ACTIVE, SubStatus.EXPIRED}),
        SubStatus.EXPIRED: frozenset({SubStatus.ACTIVE}),
    },
)
# Statuses in which the club has a paid plan (grace: still, while it renews).
CURRENT = frozenset({SubStatus.ACTIVE, SubStatus.GRACE})


def move_subscription(sub: ClubSubscription, target: SubStatus) -> None:
    """Change a locked subscription's status; a new row starts ``active``."""
    if sub.status is not None:
        SUBSCRIPTION_MOVES.check(sub.status, target)
    sub.status = target
