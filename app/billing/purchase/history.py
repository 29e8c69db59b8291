"""A buyer's purchase history: their transactions, newest first, in cursor pages.

Keyset pagination on ``(created_at, id)``: a page is one indexed range read,
stable while new purchases arrive (they sort before the cursor, never into a
page already seen). The cursor is opaque to clients
(:mod:`app.billing.core.cursor`, shared with the operator's search).

Each item is the status body plus the payment and, once settled, what the
purchase granted (credit ids, or the club plan period), read in two more
queries for the whole page rather than one per row.

A purchase that had closed unpaid (canceled, expired, failed) and was paid at Kaspi
afterwards carries ``late``: when the late-payment check moved it out of that status
and into what (granted, returned, held for review). The page shows it as an entry of
its own, so a buyer who canceled reads that the money came anyway and what became of it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select

from app.billing.core.cursor import MAX_CURSOR_LENGTH, decode_cursor, transaction_page
from app.billing.core.models import Credit, Transaction, TransactionEvent
from app.billing.core.status import CLOSED_UNPAID, TxStatus
from app.billing.fiscal.queries import receipts_of
from app.billing.schemas import ReceiptOut, TransactionStateOut, state_fields
from app.clubs.models import SubscriptionGrant
from app.extensions import db

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class HistoryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = Field(default=None, min_length=1, max_length=MAX_CURSOR_LENGTH)
    # The transition table's statuses: a filter on one no row has yet is an empty page.
    status: TxStatus | None = None

    @field_validator("cursor")
    @classmethod
    def _cursor_decodes(cls, value: str | None) -> str | None:
        if value is not None:
            decode_cursor(value)
        return value


class HistoryPaymentOut(BaseModel):
    provider: str
    payment_id: str | None
    payment_url: str | None
    expires_at: datetime | None


class GrantedCreditsOut(BaseModel):
    count: int
    ids: list[uuid.UUID]


class GrantedPlanOut(BaseModel):
    club_id: uuid.UUID
    plan_id: str
    period_start: datetime
    period_end: datetime


class GrantedOut(BaseModel):
    credits: GrantedCreditsOut | None = None
    plan: GrantedPlanOut | None = None


class LateOutcomeOut(BaseModel):
    """A payment that came after the purchase had closed unpaid, and what the policy did."""

    after: Literal["canceled", "expired", "failed"]  # the status it had closed in
    outcome: Literal["completed", "refunded", "needs_review"]  # where the late money took it
    at: datetime  # when the late payment was applied


class HistoryItemOut(TransactionStateOut):
    payment: HistoryPaymentOut
    granted: GrantedOut | None
    receipts: list[ReceiptOut]
    late: LateOutcomeOut | None = None


class HistoryPageOut(BaseModel):
    items: list[HistoryItemOut]
    next_cursor: str | None


def history_page(user_id: str, query: HistoryQuery) -> HistoryPageOut:
    stmt = select(Transaction).where(Transaction.user_id == user_id)
    if query.status is not None:
        stmt = stmt.where(Transaction.status == query.status.value)
    page, next_cursor = transaction_page(stmt, query.cursor, query.limit)
    granted = _granted(page)
    receipts = receipts_of(tx.id for tx in page if tx.settled_at is not None)
    lates = _late_outcomes(page)
    items = [
        _item(tx, granted.get(tx.id), receipts.get(tx.id, []), lates.get(tx.id)) for tx in page
    ]
    return HistoryPageOut(items=items, next_cursor=next_cursor)


def _granted(page: list[Transaction]) -> dict[uuid.UUID, GrantedOut]:
    ids = [tx.id for tx in page if tx.settled_at is not None]
    if not ids:
        return {}
    out: dict[uuid.UUID, GrantedOut] = {}
    credit_rows = db.session.execute(
        select(Credit.source_transaction_id, Credit.id)
        .where(Credit.source_transaction_id.in_(ids))
        .order_by(Credit.source_transaction_id, Credit.sequence)
    )
    by_tx: dict[uuid.UUID, list[uuid.UUID]] = {}
    for source_id, credit_id in credit_rows:
        by_tx.setdefault(source_id, []).append(credit_id)
    for source_id, credit_ids in by_tx.items():
        out[source_id] = GrantedOut(
            credits=GrantedCreditsOut(count=len(credit_ids), ids=credit_ids)
        )
    for grant in db.session.scalars(
        select(SubscriptionGrant).where(SubscriptionGrant.source_transaction_id.in_(ids))
    ):
        out[grant.source_transaction_id] = GrantedOut(
            plan=GrantedPlanOut(
                club_id=grant.club_id,
                plan_id=grant.plan_id,
                period_start=grant.period_start,
                period_end=grant.period_end,
            )
        )
    return out


def _late_outcomes(page: list[Transaction]) -> dict[uuid.UUID, LateOutcomeOut]:
    """The first move of each page row out of a closed-unpaid status (one query)."""
    ids = [tx.id for tx in page if tx.status in _AFTER_LATE]
    if not ids:
        return {}
    rows = db.session.execute(
        select(
            TransactionEvent.transaction_id,
            TransactionEvent.from_status,
            TransactionEvent.to_status,
            TransactionEvent.created_at,
        )
        .where(
            TransactionEvent.transaction_id.in_(ids),
            TransactionEvent.from_status.in_([s.value for s in CLOSED_UNPAID]),
            TransactionEvent.to_status.in_([s.value for s in _AFTER_LATE]),
        )
        .order_by(TransactionEvent.transaction_id, TransactionEvent.id)
    )
    out: dict[uuid.UUID, LateOutcomeOut] = {}
    for tx_id, after, outcome, at in rows:
        out.setdefault(tx_id, LateOutcomeOut(after=after, outcome=outcome, at=at))
    return out


# Where late money can take a closed purchase (the status path's late moves).
_AFTER_LATE = frozenset({TxStatus.COMPLETED, TxStatus.REFUNDED, TxStatus.NEEDS_REVIEW})


def _item(
    tx: Transaction,
    granted: GrantedOut | None,
    receipts: list[ReceiptOut],
    late: LateOutcomeOut | None = None,
) -> HistoryItemOut:
    return HistoryItemOut(
        **state_fields(tx),
        payment=HistoryPaymentOut(
            provider=tx.provider,
            payment_id=tx.provider_payment_id,
            payment_url=tx.payment_url,
            expires_at=tx.provider_expires_at,
        ),
        granted=granted,
        receipts=receipts,
        late=late,
    )
