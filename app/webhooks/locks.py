"""Every row lock of the webhooks area (lock order: app/locking.py).

The relay's claim takes due deliveries with ``FOR UPDATE SKIP LOCKED`` and leases
them; a delivery is due only when no earlier event of its (endpoint, ordering
key) is still pending, which is the whole ordering guarantee: event n+1 waits
until n is delivered or dead.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, text

from app.extensions import db
from app.locking import fresh_all, fresh_one
from app.webhooks.models import WebhookDelivery, WebhookEndpoint

_CLAIM = text(
    """
    WITH due AS (
        SELECT d.id FROM webhook_deliveries AS d
        JOIN webhook_endpoints AS e ON e.id = d.endpoint_id AND e.disabled_at IS NULL
        WHERE d.state = 'pending' AND d.next_attempt_at <= :now
          AND (d.leased_until IS NULL OR d.leased_until <= :now)
          AND NOT EXISTS (
              SELECT 1 FROM webhook_deliveries AS earlier
              WHERE earlier.endpoint_id = d.endpoint_id
                AND earlier.ordering_key = d.ordering_key
                AND earlier.state = 'pending'
                AND earlier.sequence < d.sequence
          )
        ORDER BY d.next_attempt_at, d.id
        LIMIT :limit
        FOR UPDATE OF d SKIP LOCKED
    )
    UPDATE webhook_deliveries AS d SET leased_until = :lease_end
    FROM due WHERE d.id = due.id
    RETURNING d.id
    """
)


def claim_due(now: datetime, lease_end: datetime, limit: int) -> list[int]:
    """Lease up to ``limit`` due deliveries (committed by the caller's step)."""
    rows = db.session.execute(_CLAIM, {"now": now, "lease_end": lease_end, "limit": limit})
    return sorted(row.id for row in rows)


def lock_deliveries(delivery_ids: list[int]) -> dict[int, WebhookDelivery]:
    """Deliveries by id, locked in id order (two relays never wait on each other in a cycle)."""
    rows = fresh_all(
        select(WebhookDelivery)
        .where(WebhookDelivery.id.in_(delivery_ids))
        .order_by(WebhookDelivery.id)
        .with_for_update()
    )
    return {row.id: row for row in rows}


def lock_dead_delivery(endpoint_id: str, event_id: str) -> WebhookDelivery | None:
    return fresh_one(
        select(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint_id,
            WebhookDelivery.event_id == event_id,
            WebhookDelivery.state == "dead",
        )
        .with_for_update()
    )


def lock_endpoints(endpoint_ids: list[str]) -> dict[str, WebhookEndpoint]:
    rows = fresh_all(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.id.in_(endpoint_ids))
        .order_by(WebhookEndpoint.id)
        .with_for_update()
    )
    return {row.id: row for row in rows}


def lock_endpoint(endpoint_id: str) -> WebhookEndpoint | None:
    return fresh_one(
        select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id).with_for_update()
    )
