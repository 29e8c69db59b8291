"""A transaction's whole story for the operator console, on one screen: the row,
why it is held (if it is), every audit event with the provider's answer and both
amounts, each refund attempt and refund, the operators' actions, its credits, and
what a refund would return now.

Each part is one read of its own table (:func:`_rows`); a new record of a
transaction's life (receipts, webhook deliveries) is one more read and one more
list in :class:`StoryOut`.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import select

from app.billing.core.models import (
    Credit,
    OperatorAction,
    RefundAttempt,
    Transaction,
    TransactionEvent,
    TransactionRefund,
)
from app.billing.core.status import TxStatus
from app.billing.operator import refunds, review
from app.billing.operator.bodies import (
    RefundableOut,
    ReviewItemOut,
    StoryActionOut,
    StoryAttemptOut,
    StoryEventOut,
    StoryOut,
    StoryRefundOut,
    cents,
)
from app.billing.operator.search import transaction_out
from app.domain_errors import NotFound
from app.extensions import db


def story(transaction_id: uuid.UUID) -> StoryOut:
    tx = db.session.get(Transaction, transaction_id)
    if tx is None:
        raise NotFound("TRANSACTION_NOT_FOUND", "Transaction not found")
    credits = list(db.session.scalars(select(Credit).where(Credit.source_transaction_id == tx.id)))
    can = refunds.refundable(tx, credits)
    held = None
    if tx.status == TxStatus.NEEDS_REVIEW:
        held = review_item_out(review.review_item(tx), datetime.now(UTC))
    return StoryOut(
        transaction=transaction_out(tx),
        review=held,
        credits=dict(Counter(c.status for c in credits)),
        refundable=RefundableOut(
            full=cents(can.full) if can.full is not None else None,
            unused=cents(can.unused) if can.unused is not None else None,
            unused_credits=can.unused_credits,
        ),
        events=[_event(e) for e in _rows(TransactionEvent, tx.id)],
        refund_attempts=[_attempt(a) for a in _rows(RefundAttempt, tx.id)],
        refunds=[_refund(r) for r in _rows(TransactionRefund, tx.id)],
        operator_actions=[_action(a) for a in _rows(OperatorAction, tx.id)],
    )


def review_item_out(item: review.ReviewItem, now: datetime) -> ReviewItemOut:
    return ReviewItemOut(
        transaction_id=item.transaction_id,
        user_id=item.user_id,
        product_code=item.product_code,
        amount=cents(item.amount),
        provider_amount=cents(item.provider_amount) if item.provider_amount is not None else None,
        provider_status=item.provider_status,
        why=item.why,
        reason=item.reason,
        since=item.since,
        age_s=max(0, int((now - item.since).total_seconds())),
    )


_Part = TypeVar("_Part", TransactionEvent, RefundAttempt, TransactionRefund, OperatorAction)


def _rows(model: type[_Part], transaction_id: uuid.UUID) -> list[_Part]:
    """Every row of ``model`` about the transaction, oldest first (ids grow with time)."""
    return list(
        db.session.scalars(
            select(model).where(model.transaction_id == transaction_id).order_by(model.id)
        )
    )


def _money(value: object) -> str | None:
    return cents(value) if value is not None else None


def _event(e: TransactionEvent) -> StoryEventOut:
    return StoryEventOut(
        at=e.created_at,
        from_status=e.from_status,
        to_status=e.to_status,
        source=e.source,
        provider_status=e.provider_status,
        amount=_money(e.amount),
        provider_amount=_money(e.provider_amount),
        note=e.note,
    )


def _attempt(a: RefundAttempt) -> StoryAttemptOut:
    return StoryAttemptOut(
        at=a.created_at,
        kind=a.kind,
        state=a.state,
        amount=cents(a.amount),
        checked_at=a.checked_at,
        error=a.error,
    )


def _refund(r: TransactionRefund) -> StoryRefundOut:
    return StoryRefundOut(
        at=r.created_at,
        amount=cents(r.amount),
        currency=r.currency,
        provider_operation_id=r.provider_operation_id,
        credits_revoked=r.credits_revoked,
        source=r.source,
        note=r.note,
    )


def _action(a: OperatorAction) -> StoryActionOut:
    return StoryActionOut(
        at=a.created_at,
        operator_id=a.operator_id,
        action=a.action,
        reason=a.reason,
        amount=_money(a.amount),
        outcome=a.outcome,
        detail=a.detail,
    )
