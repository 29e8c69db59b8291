"""The document's top-level ``webhooks`` (OpenAPI 3.1): what the platform receives.

One entry per event type of :mod:`app.webhooks.catalogue`, each a POST with the
Standard Webhooks headers and its body: the envelope ``{"type", "timestamp",
"data"}`` (:mod:`app.webhooks.payload`) around the thin ``data`` that the status
paths write (``transaction_data``, ``refund_done``, ``_credit_event`` and
``credits_granted`` in app/billing/core/status.py, ``_data`` in
app/clubs/transitions.py, ``_publish`` in app/events/publish.py).

The schemas leave ``additionalProperties`` open on purpose: a receiver should
ignore fields it does not know, and a field may be added without a new version.
tests/db/test_openapi_webhooks.py holds them to the real bodies in both directions.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, create_model
from pydantic.json_schema import models_json_schema

from app.webhooks.catalogue import EventType

REF = "#/components/schemas/{model}"
TAG = "webhooks"

Money = Annotated[
    str,
    Field(
        pattern=r"^[0-9]+\.[0-9]{2}$",
        description="An amount as a string with two decimals (never a float).",
        examples=["1000.00"],
    ),
]
TransactionStatus = Literal[
    "pending", "completed", "failed", "expired", "canceled", "needs_review", "refunded"
]
Sequence = Annotated[
    int,
    Field(
        ge=1,
        description="1, 2, 3, ... per `ordering_key`, without gaps: event n+1 of a key is "
        "never delivered to an endpoint before event n is delivered or dead.",
    ),
]


def _ordering_key(prefix: str, what: str) -> Any:
    return Field(
        pattern=f"^{prefix}:",
        description=f"`{prefix}:<{what}>`: the events of one key are delivered in `sequence` "
        "order.",
    )


class WebhookTransactionData(BaseModel):
    """A transaction as it is after the change (``transaction_data``)."""

    transaction_id: uuid.UUID
    status: TransactionStatus = Field(description="The transaction's status after the change.")
    product_code: str = Field(examples=["EVENT_UPGRADE_500"])
    quantity: int = Field(ge=1)
    amount: Money
    currency: str = Field(examples=["KZT"])
    user_id: str = Field(description="The buyer.")
    club_id: uuid.UUID | None = Field(description="The club a club plan was bought for.")
    ordering_key: str = _ordering_key("transaction", "transaction_id")
    sequence: Sequence


class WebhookTransactionNeedsReviewData(WebhookTransactionData):
    """Held for an operator: nothing is granted until the review resolves it."""

    reason: str | None = Field(description="Why it is held (the audit note), for people.")


class WebhookTransactionRefundedData(WebhookTransactionData):
    """Money went back to the buyer, all of it or a part (``refund_done``)."""

    status: TransactionStatus = Field(
        description="`refunded` after a full refund; `completed` after a partial one."
    )
    refund_amount: Money = Field(description="What this refund returned.")
    refunded_total: Money = Field(description="Everything returned on this transaction so far.")
    full: bool = Field(description="True when the transaction is now `refunded`.")


class WebhookCreditGrantedData(BaseModel):
    """New credits from a paid purchase (``credits_granted``)."""

    transaction_id: uuid.UUID = Field(description="The purchase that granted them.")
    credit_code: str = Field(examples=["EVENT_UPGRADE_500"])
    reason: str = Field(examples=["purchase"])
    user_id: str = Field(description="The owner of the credits.")
    quantity: int = Field(ge=1, description="How many credits were granted.")
    credit_ids: list[uuid.UUID] = Field(description="Their ids, sorted.")
    ordering_key: str = _ordering_key("user", "user_id")
    sequence: Sequence


class WebhookCreditData(BaseModel):
    """One credit after its change (``_credit_event``)."""

    credit_id: uuid.UUID
    credit_code: str = Field(examples=["EVENT_UPGRADE_500"])
    status: Literal["available", "consumed", "revoked"] = Field(
        description="`consumed`, `revoked`, or `available` again (restored)."
    )
    user_id: str = Field(description="The owner of the credit.")
    ordering_key: str = _ordering_key("user", "user_id")
    sequence: Sequence


class WebhookCreditConsumedData(WebhookCreditData):
    """A credit spent on publishing an event."""

    event_id: uuid.UUID = Field(description="The platform event the credit was spent on.")


class WebhookSubscriptionData(BaseModel):
    """A club's subscription after its change (``_data`` of app/clubs/transitions.py)."""

    club_id: uuid.UUID
    plan_id: str = Field(examples=["club_50"])
    status: Literal["active", "grace", "expired"]
    current_period_start: datetime
    current_period_end: datetime
    grace_until: datetime = Field(description="Until when a lapsed period keeps its access.")
    ordering_key: str = _ordering_key("subscription", "club_id")
    sequence: Sequence


class WebhookSubscriptionRenewalDueData(BaseModel):
    """A reminder that a club's paid period ends soon (``app/renewals/reminders.py``)."""

    club_id: uuid.UUID
    user_id: str = Field(description="The club's owner, who can renew.")
    plan_id: str = Field(examples=["club_50"], description="The plan the renewal buys.")
    days_left: int = Field(ge=0, description="Whole days until `due_at` (rounded up).")
    reminder_day: int = Field(
        ge=1, description="The policy's reminder day this stands for (7, 3, 1 by default)."
    )
    due_at: datetime = Field(description="The end of the paid period (`current_period_end`).")
    grace_until: datetime
    amount: Money = Field(description="What renewing for one more period costs.")
    currency: str = Field(examples=["KZT"])
    renew_url: str = Field(
        examples=["/#/clubs/0b5c..."], description="The club page, with its Renew button."
    )
    ordering_key: str = _ordering_key("subscription", "club_id")
    sequence: Sequence


class WebhookEventPublishedData(BaseModel):
    """A platform event was published (``_publish``)."""

    event_id: uuid.UUID
    status: Literal["published"]
    user_id: str = Field(description="The event's owner.")
    club_id: uuid.UUID | None
    max_participants: int | None = Field(description="null: no limit.")
    upgraded_by_credit: bool = Field(description="True when publishing consumed a credit.")
    ordering_key: str = _ordering_key("event", "event_id")
    sequence: Sequence


class WebhookReceiptIssuedData(BaseModel):
    """A fiscal receipt the cloud register issued (``mark_issued``, docs/FISCAL.md)."""

    receipt_id: str = Field(description="Our id of the receipt.")
    transaction_id: uuid.UUID
    kind: Literal["sale", "return"] = Field(
        description="`sale` for a completed transaction, `return` for each refund."
    )
    amount: Money = Field(description="What the receipt is for (a return: the amount refunded).")
    currency: str = Field(examples=["KZT"])
    fiscal_number: str = Field(description="The register's fiscal number of the receipt.")
    ticket_url: str = Field(description="The receipt's page at the register / OFD.")
    issued_at: datetime
    offline: bool = Field(
        description="Issued in the register's offline mode (sent to the OFD later)."
    )
    user_id: str | None = Field(description="The buyer.")
    club_id: uuid.UUID | None
    ordering_key: str = _ordering_key("transaction", "transaction_id")
    sequence: Sequence


# What each type's ``data`` is, and when it is sent (the operation's description).
EVENTS: dict[EventType, tuple[type[BaseModel], str]] = {
    EventType.TRANSACTION_COMPLETED: (
        WebhookTransactionData,
        "A purchase was paid: Kaspi confirmed the payment and what it buys is granted "
        "(or an operator's review resolved a held transaction as completed).",
    ),
    EventType.TRANSACTION_FAILED: (WebhookTransactionData, "Kaspi reported the payment failed."),
    EventType.TRANSACTION_EXPIRED: (
        WebhookTransactionData,
        "The payment was not made before the purchase intent expired.",
    ),
    EventType.TRANSACTION_CANCELED: (
        WebhookTransactionData,
        "The buyer cancelled and Kaspi confirmed no payment.",
    ),
    EventType.TRANSACTION_NEEDS_REVIEW: (
        WebhookTransactionNeedsReviewData,
        "The transaction is held for an operator (the provider's answer disagrees, a late "
        "payment, a refund whose outcome is unknown); nothing is granted meanwhile.",
    ),
    EventType.TRANSACTION_REFUNDED: (
        WebhookTransactionRefundedData,
        "Money went back to the buyer: a full refund (`full: true`, status `refunded`) or "
        "a partial one (`full: false`).",
    ),
    EventType.CREDIT_GRANTED: (
        WebhookCreditGrantedData,
        "A paid credit purchase granted credits (told after the purchase's "
        "`transaction.completed`).",
    ),
    EventType.CREDIT_CONSUMED: (
        WebhookCreditConsumedData,
        "A credit was spent on publishing an event.",
    ),
    EventType.CREDIT_REVOKED: (
        WebhookCreditData,
        "A refund took back a credit that was not spent.",
    ),
    EventType.CREDIT_RESTORED: (
        WebhookCreditData,
        "A refund Kaspi refused gave back the credit it had revoked (`available` again).",
    ),
    EventType.SUBSCRIPTION_ACTIVATED: (
        WebhookSubscriptionData,
        "A club's first paid period, or a paid period after it had expired.",
    ),
    EventType.SUBSCRIPTION_RENEWED: (
        WebhookSubscriptionData,
        "A paid period on a current subscription (active or grace): a renewal, an "
        "extension or a plan switch.",
    ),
    EventType.SUBSCRIPTION_GRACE_STARTED: (
        WebhookSubscriptionData,
        "The paid period ended; access continues until `grace_until`.",
    ),
    EventType.SUBSCRIPTION_EXPIRED: (
        WebhookSubscriptionData,
        "The grace period ended, or a refund took the period back.",
    ),
    EventType.SUBSCRIPTION_RENEWAL_DUE: (
        WebhookSubscriptionRenewalDueData,
        "A club's paid period ends in `days_left` days: remind its owner to renew (once "
        "per period and reminder day; after downtime, one late reminder).",
    ),
    EventType.EVENT_PUBLISHED: (WebhookEventPublishedData, "A platform event was published."),
    EventType.RECEIPT_ISSUED: (
        WebhookReceiptIssuedData,
        "The cloud register issued a fiscal receipt: a sale's, or a refund's return receipt.",
    ),
}

_HEADERS: list[dict[str, Any]] = [
    {
        "name": "webhook-id",
        "in": "header",
        "required": True,
        "description": "The event's id: the same on every retry and replay of it; "
        "deduplicate on it.",
        "schema": {"type": "string", "pattern": "^msg_[0-9a-f]{32}$"},
        "example": "msg_5c0e8d3f7a3b4f1e9b2d6a1c0f4e8d2a",
    },
    {
        "name": "webhook-timestamp",
        "in": "header",
        "required": True,
        "description": "This attempt's time, in Unix seconds (it changes on every retry).",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
        "example": "1796594400",
    },
    {
        "name": "webhook-signature",
        "in": "header",
        "required": True,
        "description": "`v1,<base64 HMAC-SHA256 of webhook-id.webhook-timestamp.body>` with "
        "the endpoint's secret; two, space-separated, for 24 hours after a rotation "
        "(the new secret's first). Verify with the `standardwebhooks` library.",
        "schema": {"type": "string", "pattern": "^v1,[A-Za-z0-9+/=]+( v1,[A-Za-z0-9+/=]+)*$"},
    },
]

_RESPONSES: dict[str, Any] = {
    "2XX": {"description": "Delivered: any 2xx. The body is not used."},
    "410": {
        "description": "Gone: the endpoint is disabled and sent nothing more until an "
        "operator enables it; its deliveries wait, in order."
    },
    "429": {
        "description": "Retried after `Retry-After` (seconds or an HTTP date, at most "
        "24 hours), or on the schedule without one.",
        "headers": {"Retry-After": {"schema": {"type": "string"}}},
    },
    "503": {
        "description": "As 429: retried after `Retry-After`, or on the schedule.",
        "headers": {"Retry-After": {"schema": {"type": "string"}}},
    },
    "default": {
        "description": "Any other answer (3xx included: redirects are not followed), a "
        "timeout (15 s) or no answer: retried at 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, "
        "14 h, 20 h and 24 h (each ±10 %), then dead."
    },
}


def _envelope(type_: EventType, data: type[BaseModel], description: str) -> type[BaseModel]:
    name = "Webhook" + "".join(part.title() for part in type_.value.replace(".", "_").split("_"))
    # The type's own value as a const: a Literal made at run time, which mypy cannot see.
    const: Any = Literal[type_.value]
    model: type[BaseModel] = create_model(
        name,
        __doc__=f"`{type_.value}`: {description}",
        type=(const, Field(description="The event type.")),
        timestamp=(datetime, Field(description="When the fact happened (UTC).")),
        data=(data, ...),
    )
    return model


ENVELOPES: dict[EventType, type[BaseModel]] = {
    type_: _envelope(type_, data, description) for type_, (data, description) in EVENTS.items()
}


def _first_clause(text: str) -> str:
    """The description's opening words, for the one-line summary beside the type."""
    return text.split(". ")[0].split(": ")[0].split(" (")[0].rstrip(".")


def webhooks_section() -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``webhooks`` object and the component schemas it refers to."""
    refs, defs = models_json_schema(
        [(model, "serialization") for model in ENVELOPES.values()], ref_template=REF
    )
    webhooks: dict[str, Any] = {}
    for type_, model in ENVELOPES.items():
        description = EVENTS[type_][1]
        webhooks[type_.value] = {
            "post": {
                "operationId": f"webhook.{type_.value}",
                "summary": _first_clause(description),
                "description": description + " See docs/WEBHOOKS.md.",
                "tags": [TAG],
                "parameters": _HEADERS,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": refs[(model, "serialization")]}},
                },
                "responses": _RESPONSES,
            }
        }
    return dict(sorted(webhooks.items())), defs.get("$defs", {})
