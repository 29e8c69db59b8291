"""The webhook delivery status machine: ``pending`` until delivered or dead.

A delivery to a disabled endpoint stays ``pending`` (it waits, in order). A dead
one becomes ``delivered`` when an operator's replay of it is answered 2xx (the
platform has it now); nothing leaves ``delivered``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from app.state_machine import TransitionTable
from app.webhooks.models import WebhookDelivery


class DeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"  # every retry failed


DELIVERY_MOVES: TransitionTable[DeliveryState] = TransitionTable(
    "webhook delivery",
    {
        DeliveryState.PENDING: frozenset({DeliveryState.DELIVERED, DeliveryState.DEAD}),
        DeliveryState.DELIVERED: frozenset(),
        DeliveryState.DEAD: frozenset({DeliveryState.DELIVERED}),
    },
)


def move_delivery(delivery: WebhookDelivery, target: DeliveryState, *, now: datetime) -> None:
    """End a locked delivery: the table is asked first."""
    DELIVERY_MOVES.check(delivery.state, target)
    delivery.state = target
    delivery.finished_at = now
