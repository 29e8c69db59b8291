"""An operator's replay: one attempt per event, the original ``webhook-id``, the
current secret(s). It does not count toward the endpoint's failures (an endpoint
being fixed is replayed to while it still fails) and moves no pending delivery;
a dead one it gets through (2xx) is delivered."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import or_, select

from app.db import step
from app.extensions import db
from app.webhooks import endpoints, locks, payload, signing
from app.webhooks.models import OutboxEvent, WebhookEndpoint
from app.webhooks.relay import Claimed, attempt_row, send
from app.webhooks.sender import Sent
from app.webhooks.states import DeliveryState, move_delivery


def events_since(endpoint: WebhookEndpoint, since: datetime) -> list[OutboxEvent]:
    query = select(OutboxEvent).where(OutboxEvent.created_at >= since)
    if endpoint.event_types is not None:
        query = query.where(or_(*(OutboxEvent.type == t for t in endpoint.event_types)))
    return list(db.session.scalars(query.order_by(OutboxEvent.created_at, OutboxEvent.sequence)))


def replay(
    endpoint_id: str, *, event_id: str | None = None, since: datetime | None = None
) -> list[tuple[str, Sent]]:
    """Send the event (or every event of the endpoint's types since ``since``) once
    each, in the order they happened; each attempt is recorded as a replay."""
    with step():
        endpoint = endpoints.get(endpoint_id)
        if event_id is not None:
            event = db.session.get(OutboxEvent, event_id)
            if event is None:
                raise endpoints.EndpointRefused(f"no event {event_id}")
            events = [event]
        elif since is not None:
            events = events_since(endpoint, since)
        else:
            raise endpoints.EndpointRefused("say which: --event EVENT_ID or --since ISO_TIME")
        now = datetime.now(UTC)
        secrets = signing.live_secrets(
            endpoint.secret, endpoint.previous_secret, endpoint.previous_secret_until, now
        )
        claimed = [
            Claimed(0, endpoint.id, endpoint.url, e.id, e.type, payload.body(e), secrets)
            for e in events
        ]
    results = []
    for item in claimed:
        sent = send(item)
        with step():
            if sent.delivered:
                _dead_now_delivered(item.endpoint_id, item.event_id)
            db.session.add(attempt_row(item, sent, datetime.now(UTC), replay=True))
        results.append((item.event_id, sent))
    return results


def _dead_now_delivered(endpoint_id: str, event_id: str) -> None:
    """A dead delivery the replay got through is delivered: it leaves the dead list."""
    delivery = locks.lock_dead_delivery(endpoint_id, event_id)
    if delivery is not None:
        move_delivery(delivery, DeliveryState.DELIVERED, now=datetime.now(UTC))
