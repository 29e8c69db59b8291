"""Dead deliveries: what the operator's review lists beside held transactions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.webhooks.models import OutboxEvent, WebhookDelivery


@dataclass(frozen=True)
class DeadDelivery:
    endpoint_id: str
    event_id: str
    event_type: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    since: str | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def dead(limit: int) -> list[DeadDelivery]:
    rows = db.session.execute(
        select(WebhookDelivery, OutboxEvent.type)
        .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.state == "dead")
        .order_by(WebhookDelivery.finished_at, WebhookDelivery.id)
        .limit(limit)
    ).all()
    return [
        DeadDelivery(
            d.endpoint_id,
            d.event_id,
            event_type,
            d.attempts,
            d.last_status_code,
            d.last_error,
            d.finished_at.isoformat() if d.finished_at else None,
        )
        for d, event_type in rows
    ]
