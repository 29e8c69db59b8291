"""The operator console's request and response bodies (``/api/ops/...``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.billing.core.cursor import MAX_CURSOR_LENGTH, decode_cursor
from app.billing.core.status import TxStatus
from app.billing.operator.actions import MAX_REASON
from app.money import CENT

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
# Money in requests: a decimal string or number with at most two decimals.
AMOUNT_PATTERN = r"^\d{1,10}(\.\d{1,2})?$"

# -- requests ---------------------------------------------------------------------------


class OpsTransactionsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=False)

    status: TxStatus | None = None
    user_id: str | None = Field(default=None, min_length=1, max_length=128)
    payment_id: str | None = Field(default=None, min_length=1, max_length=128)
    club_id: uuid.UUID | None = None
    # Created at or after ``from``, before ``to`` (ISO 8601 with a time zone).
    from_: datetime | None = Field(default=None, alias="from")
    to: datetime | None = None
    cursor: str | None = Field(default=None, min_length=1, max_length=MAX_CURSOR_LENGTH)
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)

    @field_validator("cursor")
    @classmethod
    def _cursor_decodes(cls, value: str | None) -> str | None:
        if value is not None:
            decode_cursor(value)
        return value

    @field_validator("from_", "to")
    @classmethod
    def _zoned(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("needs a time zone (e.g. 2026-12-01T00:00:00Z)")
        return value


class ReviewQueueQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=MAX_LIMIT, ge=1, le=MAX_LIMIT)


Reason = Field(min_length=1, max_length=MAX_REASON, pattern=r"\S")


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["grant", "refund", "fail"]
    reason: str = Reason


class RefundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The amount the operator's confirmation stated: the refund is refused if it
    # would return another (the transaction changed since it was read).
    amount: str | None = Field(default=None, pattern=AMOUNT_PATTERN)
    # Only the unused credits' share (a credit purchase); otherwise in full.
    unused: bool = False
    reason: str = Reason


# -- responses --------------------------------------------------------------------------


class OpsTransactionOut(BaseModel):
    transaction_id: uuid.UUID
    status: str
    user_id: str
    product_code: str
    quantity: int
    amount: str
    refunded_amount: str
    currency: str
    club_id: uuid.UUID | None
    provider_payment_id: str | None
    created_at: datetime
    updated_at: datetime
    settled_at: datetime | None


class OpsPageOut(BaseModel):
    items: list[OpsTransactionOut]
    next_cursor: str | None


class ReviewItemOut(BaseModel):
    transaction_id: uuid.UUID
    user_id: str
    product_code: str
    amount: str
    provider_amount: str | None
    provider_status: str | None
    # amount_mismatch, late_payment, refund_unknown, receipt_failed or other; ``reason``
    # says more.
    why: str
    reason: str | None
    since: datetime
    age_s: int


class ReviewQueueOut(BaseModel):
    items: list[ReviewItemOut]


class StoryEventOut(BaseModel):
    """One entry of the audit log: a status change, with the provider's answer."""

    at: datetime
    from_status: str | None
    to_status: str
    source: str
    provider_status: str | None
    amount: str | None
    provider_amount: str | None
    note: str | None


class StoryRefundOut(BaseModel):
    at: datetime
    amount: str
    currency: str
    provider_operation_id: str | None
    credits_revoked: int
    source: str
    note: str | None


class StoryAttemptOut(BaseModel):
    at: datetime
    kind: str
    state: str
    amount: str
    checked_at: datetime | None
    error: str | None


class StoryActionOut(BaseModel):
    at: datetime
    operator_id: str
    action: str
    reason: str
    amount: str | None
    outcome: str
    detail: str | None


class RefundableOut(BaseModel):
    """What each refund would return now; null: it would be refused."""

    full: str | None
    unused: str | None
    unused_credits: int


class StoryOut(BaseModel):
    transaction: OpsTransactionOut
    review: ReviewItemOut | None
    credits: dict[str, int]
    refundable: RefundableOut
    events: list[StoryEventOut]
    refund_attempts: list[StoryAttemptOut]
    refunds: list[StoryRefundOut]
    operator_actions: list[StoryActionOut]


class ActedOut(BaseModel):
    action_id: int
    transaction_id: uuid.UUID
    status: str
    refunded_amount: str


class AgeOut(BaseModel):
    count: int
    oldest_at: datetime | None
    oldest_age_s: int | None


class MoneyOut(BaseModel):
    money_in: str
    money_out: str
    currency: str
    day_start: datetime


class HourOut(BaseModel):
    hour: datetime
    pending: int  # transactions opened (pending) in the hour
    settled: int  # transactions settled (money received) in the hour


class SummaryOut(BaseModel):
    by_status: dict[str, int]
    needs_review: AgeOut
    pending: AgeOut
    today: MoneyOut
    hours: list[HourOut]


def cents(value: object) -> str:
    """An amount as the API writes money: a string with two decimals."""
    return str(Decimal(str(value)).quantize(CENT))
