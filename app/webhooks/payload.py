"""The bytes of one event as the platform receives them (the same on every attempt)."""

from __future__ import annotations

import json
from datetime import UTC

from app.webhooks.models import OutboxEvent


def body(event: OutboxEvent) -> bytes:
    data = {**event.data, "ordering_key": event.ordering_key, "sequence": event.sequence}
    document = {
        "type": event.type,
        "timestamp": event.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": data,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
