"""Row locks of events (``app.locking.LOCK_ORDER``: after transactions, before clubs)."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from app.events.models import Event
from app.locking import fresh_one


def lock_event(event_id: uuid.UUID) -> Event | None:
    """Serialises publishing and editing one event."""
    return fresh_one(select(Event).where(Event.id == event_id).with_for_update())
