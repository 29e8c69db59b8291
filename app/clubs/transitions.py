"""The club subscription status machine.

``active → grace`` when the period ends, ``grace → expired`` when grace ends
(the lifecycle task), and back to ``active`` when a period is paid for. A paid
period on an active subscription (an extension, a plan switch) stays ``active``.
A refund that takes the period back may end it at once (``expired``).

Every change is written to the outbox (``subscription.activated``, ``renewed``,
``grace_started``, ``expired``) in the same database transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from app.clubs.models import ClubSubscription
from app.state_machine import TransitionTable
from app.webhooks import outbox
from app.webhooks.catalogue import EventType, subscription_key


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
    """Change a locked subscription's status; a new row starts ``active``.

    The caller has set the period the change is about (its end, its grace) first:
    the webhook event carries it.
    """
    previous = sub.status
    if previous is not None:
        SUBSCRIPTION_MOVES.check(previous, target)
    sub.status = target
    outbox.emit(_event_of(previous, target), subscription_key(sub.club_id), _data(sub))


def _event_of(previous: str | None, target: SubStatus) -> EventType:
    if target == SubStatus.ACTIVE:
        renewed = previous in CURRENT
        return EventType.SUBSCRIPTION_RENEWED if renewed else EventType.SUBSCRIPTION_ACTIVATED
    if target == SubStatus.GRACE:
        return EventType.SUBSCRIPTION_GRACE_STARTED
    return EventType.SUBSCRIPTION_EXPIRED


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def _data(sub: ClubSubscription) -> dict[str, Any]:
    return {
        "club_id": str(sub.club_id),
        "plan_id": sub.plan_id,
        "status": sub.status,
        "current_period_start": _iso(sub.current_period_start),
        "current_period_end": _iso(sub.current_period_end),
        "grace_until": _iso(sub.grace_until),
    }
