"""The webhook event types, their ordering keys and their thin ``data``.

Every payload is ``{"type", "timestamp", "data"}``; ``data`` holds ids, a status,
amounts as strings, the currency, ``user_id`` and ``club_id`` where there is one,
and the event's ``ordering_key`` and ``sequence`` (see docs/WEBHOOKS.md).
"""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    TRANSACTION_COMPLETED = "transaction.completed"
    TRANSACTION_FAILED = "transaction.failed"
    TRANSACTION_EXPIRED = "transaction.expired"
    TRANSACTION_CANCELED = "transaction.canceled"
    TRANSACTION_REFUNDED = "transaction.refunded"
    TRANSACTION_NEEDS_REVIEW = "transaction.needs_review"
    CREDIT_GRANTED = "credit.granted"
    CREDIT_CONSUMED = "credit.consumed"
    CREDIT_REVOKED = "credit.revoked"
    # A refund Kaspi refused gives back the credits it had revoked.
    CREDIT_RESTORED = "credit.restored"
    SUBSCRIPTION_ACTIVATED = "subscription.activated"
    SUBSCRIPTION_RENEWED = "subscription.renewed"
    SUBSCRIPTION_GRACE_STARTED = "subscription.grace_started"
    SUBSCRIPTION_EXPIRED = "subscription.expired"
    # A reminder to pay for the next period (Kaspi cannot charge again by itself).
    SUBSCRIPTION_RENEWAL_DUE = "subscription.renewal_due"
    EVENT_PUBLISHED = "event.published"
    # A fiscal receipt (sale or return) was issued by the cloud register.
    RECEIPT_ISSUED = "receipt.issued"


EVENT_TYPES = frozenset(EventType)


def transaction_key(transaction_id: object) -> str:
    return f"transaction:{transaction_id}"


def subscription_key(club_id: object) -> str:
    return f"subscription:{club_id}"


def user_key(user_id: object) -> str:
    """Credits are ordered per owner: a grant is always told before its consumption."""
    return f"user:{user_id}"


def event_key(event_id: object) -> str:
    return f"event:{event_id}"
