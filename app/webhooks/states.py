"""The webhook delivery status machine: ``pending`` until delivered or dead.

A delivery to a disabled endpoint stays ``pending`` (it waits, in order); an
operator's replay changes no delivery. Nothing leaves ``delivered`` or ``dead``.
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
        DeliveryState.DEAD: frozenset(),
    },
)


def move_delivery(delivery: WebhookDelivery, target: DeliveryState, *, now: datetime) -> None:
    """End a locked delivery: the table is asked first."""
    DELIVERY_MOVES.check(delivery.state, target)
    delivery.state = target
    delivery.finished_at = now
