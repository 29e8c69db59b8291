from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Row

from app.billing.core.models import Credit, Transaction

# An ORM row, or a Core row of the transactions table (same attribute names): the
# status poll and the purchase intent build their answers without an ORM object.
TransactionLike = Transaction | Row[Any]

MAX_QUANTITY = 100


class PurchaseIntentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_code: str = Field(min_length=1, max_length=64)
    quantity: int = Field(default=1, ge=1, le=MAX_QUANTITY, strict=True)
    club_id: uuid.UUID | None = None
    # The caller's personal event an upgrade is bought for: one open purchase per
    # event (a second one is 409 PURCHASE_IN_PROGRESS with the open one).
    event_id: uuid.UUID | None = None


class PaymentOut(BaseModel):
    provider: str
    payment_id: str | None
    payment_url: str | None
    poll_interval_s: int
    # When the provider's payment link stops taking payment (its ExpireDate), so a
    # client can say "the payment link has expired" at the right moment.
    expires_at: datetime | None = None


class PurchaseIntentOut(BaseModel):
    transaction_id: uuid.UUID
    status: str
    product_code: str
    quantity: int
    amount: str
    currency: str
    club_id: uuid.UUID | None
    created_at: datetime
    expires_at: datetime
    payment: PaymentOut
    event_id: uuid.UUID | None = None


class TransactionStateOut(BaseModel):
    """The fields every view of a transaction's state shares (status body, history item)."""

    transaction_id: uuid.UUID
    status: str
    product_code: str
    quantity: int
    amount: str
    currency: str
    club_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    settled_at: datetime | None
    expires_at: datetime
    poll_interval_s: int
    event_id: uuid.UUID | None = None


class TransactionStatusOut(TransactionStateOut):
    # Money returned so far (partial refunds keep the status completed).
    refunded_amount: str
    payment: PaymentOut


class CancelOut(TransactionStatusOut):
    # True: Kaspi closed the payment link, nothing can be paid any more. False: it
    # could not; a payment made anyway is found by the late-payment sweep. None: no
    # cancel was asked this time (the transaction was cancelled already).
    link_closed: bool | None


class ReceiptOut(BaseModel):
    """A fiscal receipt of the transaction (docs/FISCAL.md); ``fiscal_number``,
    ``ticket_url`` and ``issued_at`` are null while the receipt is owed."""

    kind: Literal["sale", "return"]
    amount: str
    fiscal_number: str | None
    ticket_url: str | None
    issued_at: datetime | None
    offline: bool


class TransactionDetailOut(TransactionStatusOut):
    # The sale receipt and a return receipt per refund, as the register issued them.
    receipts: list[ReceiptOut]


class StatusQuery(BaseModel):
    transaction_id: uuid.UUID


class CreditOut(BaseModel):
    # Built straight from the ORM row: the fields are the columns.
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    credit_code: str
    status: str
    source_transaction_id: uuid.UUID
    consumed_event_id: uuid.UUID | None
    created_at: datetime
    consumed_at: datetime | None


class CreditsOut(BaseModel):
    credits: list[CreditOut]
    available: dict[str, int]


class DevSettleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    transaction_id: uuid.UUID
    outcome: Literal["paid", "failed"] = "paid"


class DevSettleQuery(BaseModel):
    wait: Literal["0", "1", "true", "false"] = "0"


class DevSettleQueuedOut(BaseModel):
    task_id: str
    transaction_id: uuid.UUID


def _common(tx: TransactionLike) -> dict[str, Any]:
    return {
        "transaction_id": tx.id,
        "status": tx.status,
        "product_code": tx.product_code,
        "quantity": tx.quantity,
        "amount": str(tx.amount),
        "currency": tx.currency,
        "club_id": tx.club_id,
        "event_id": tx.event_id,
        "created_at": tx.created_at,
        "expires_at": tx.expires_at,
    }


def payment_out(tx: TransactionLike) -> PaymentOut:
    return PaymentOut(
        provider=tx.provider,
        payment_id=tx.provider_payment_id,
        payment_url=tx.payment_url,
        poll_interval_s=tx.poll_interval_s,
        expires_at=tx.provider_expires_at,
    )


def state_fields(tx: TransactionLike) -> dict[str, Any]:
    """The values of :class:`TransactionStateOut`'s fields."""
    return {
        **_common(tx),
        "updated_at": tx.updated_at,
        "settled_at": tx.settled_at,
        "poll_interval_s": tx.poll_interval_s,
    }


def status_out(tx: TransactionLike) -> TransactionStatusOut:
    return TransactionStatusOut(
        **state_fields(tx),
        refunded_amount=str(tx.refunded_amount),
        payment=payment_out(tx),
    )


def credit_out(credit: Credit) -> CreditOut:
    return CreditOut.model_validate(credit)


def cancel_out(tx: TransactionLike, link_closed: bool | None) -> CancelOut:
    return CancelOut(**status_out(tx).model_dump(), link_closed=link_closed)
