"""The outbox and the webhook endpoints it is delivered to.

``outbox_events``: one row per money fact, written in the database transaction of
the change that causes it (its id is the ``webhook-id`` of every delivery of it).
``outbox_sequences``: the last sequence given out per ordering key; its row lock,
held to COMMIT, makes sequences follow commit order without gaps.
``webhook_deliveries``: one row per (endpoint, event), inserted with the event for
every endpoint subscribed at that moment; the relay's queue.
``webhook_attempts``: every POST made (retries and replays), for ``attempts``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model

DELIVERY_STATES = ("pending", "delivered", "dead")


class OutboxEvent(Model):
    __tablename__ = "outbox_events"
    __table_args__ = (UniqueConstraint("ordering_key", "sequence"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type: Mapped[str] = mapped_column(String(48), nullable=False)
    ordering_key: Mapped[str] = mapped_column(String(80), nullable=False)
    sequence: Mapped[int] = mapped_column(Integer, nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


# ``replay --since``: events of a period in the order they happened.
Index("ix_outbox_events_created_at", OutboxEvent.created_at)


class OutboxSequence(Model):
    __tablename__ = "outbox_sequences"

    ordering_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    last_sequence: Mapped[int] = mapped_column(Integer, nullable=False)


class WebhookEndpoint(Model):
    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    url: Mapped[str] = mapped_column(Text, nullable=False)
    # NULL: every event type.
    event_types: Mapped[list[str] | None] = mapped_column(ARRAY(String(48)))
    secret: Mapped[str] = mapped_column(Text, nullable=False)
    # After ``rotate``, the secret it replaced signs too until this moment.
    previous_secret: Mapped[str | None] = mapped_column(Text)
    previous_secret_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    # The first failed attempt since the last delivered one (NULL: healthy).
    failing_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class WebhookDelivery(Model):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id"),
        CheckConstraint("state IN ('pending', 'delivered', 'dead')", name="state_known"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    endpoint_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False
    )
    event_id: Mapped[str] = mapped_column(ForeignKey("outbox_events.id"), nullable=False)
    # The event's, copied: the relay's ordering check reads only this table.
    ordering_key: Mapped[str] = mapped_column(String(80), nullable=False)
    sequence: Mapped[int] = mapped_column(Integer, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # A relay that claimed it and died leaves this behind; it is claimed again after it.
    leased_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# The relay's queue and its ordering check: only pending rows are indexed.
Index(
    "ix_webhook_deliveries_due",
    WebhookDelivery.next_attempt_at,
    postgresql_where=text("state = 'pending'"),
)
Index(
    "ix_webhook_deliveries_order",
    WebhookDelivery.endpoint_id,
    WebhookDelivery.ordering_key,
    WebhookDelivery.sequence,
    postgresql_where=text("state = 'pending'"),
)


class WebhookAttempt(Model):
    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    endpoint_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False
    )
    event_id: Mapped[str] = mapped_column(ForeignKey("outbox_events.id"), nullable=False)
    # An operator's replay: one attempt that does not count toward the endpoint's failures.
    replay: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer, nullable=False)
    error: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


Index("ix_webhook_attempts_endpoint", WebhookAttempt.endpoint_id, WebhookAttempt.id.desc())
