"""The review queue: transactions held in ``needs_review`` and how an operator resolves them.

A transaction lands here when Kaspi's "paid" answer disagrees with ours (amount,
currency, payment id, ExternalId) or a late payment is held by policy. Nothing
but :func:`resolve` (``flask --app wsgi billing resolve``) moves it out:

- ``grant``: complete it and grant what was bought (the operator accepts the payment);
- ``refund``: return what Kaspi actually received, then ``refunded``;
- ``fail``: close it without a payment — refused while Kaspi reports money received
  and not returned, since money reported received must end completed or refunded.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select

from app.billing.core import locks
from app.billing.core.models import Transaction, TransactionEvent
from app.billing.core.status import CLOSED_UNPAID, Source, TxStatus, refund_done, transition
from app.billing.kaspi.client import PaymentStatus, ProviderError
from app.billing.kaspi.provider import get_provider
from app.billing.refund import sequence
from app.billing.refund.sequence import RefundHeld, RefundKind, RefundRefused
from app.billing.settle.settlement import grant_entitlements
from app.db import between_steps, step
from app.domain_errors import Conflict, NotFound, Unavailable
from app.extensions import db

ACTIONS = ("grant", "refund", "fail")


class ResolveRefused(Conflict):
    def __init__(self, message: str) -> None:
        super().__init__("RESOLVE_REFUSED", message)


@dataclass(frozen=True)
class ReviewItem:
    transaction_id: uuid.UUID
    user_id: str
    product_code: str
    amount: Decimal
    provider_amount: Decimal | None
    provider_status: str | None
    reason: str | None
    since: datetime
    # The status it was held from: a closed one means the money came late.
    held_from: str | None = None

    @property
    def why(self) -> str:
        """Why it was held, as a kind the console names: ``amount_mismatch`` (ours vs
        the provider's amount), ``late_payment``, ``refund_unknown``, ``receipt_failed``
        or ``other`` (identity or currency: the reason's text says which)."""
        if self.reason and self.reason.startswith(sequence.REFUND_UNKNOWN):
            return "refund_unknown"
        # The fiscal worker's hold (app/billing/fiscal/issue.py): the register never
        # issued the receipt; the money and what it bought are settled.
        if self.reason and self.reason.startswith("receipt_failed"):
            return "receipt_failed"
        if self.held_from in CLOSED_UNPAID:
            return "late_payment"
        if self.provider_amount is not None and self.provider_amount != self.amount:
            return "amount_mismatch"
        return "other"


def queue(limit: int = 200) -> list[ReviewItem]:
    """needs_review transactions, oldest first, each with the event that put it there."""
    txs = db.session.scalars(
        select(Transaction)
        .where(Transaction.status == TxStatus.NEEDS_REVIEW)
        .order_by(Transaction.updated_at)
        .limit(limit)
    ).all()
    return [review_item(tx) for tx in txs]


def review_item(tx: Transaction) -> ReviewItem:
    """A held transaction with the audit event that put it there."""
    event = db.session.scalar(
        select(TransactionEvent)
        .where(
            TransactionEvent.transaction_id == tx.id,
            TransactionEvent.to_status == TxStatus.NEEDS_REVIEW,
        )
        .order_by(TransactionEvent.id.desc())
        .limit(1)
    )
    return ReviewItem(
        transaction_id=tx.id,
        user_id=tx.user_id,
        product_code=tx.product_code,
        amount=tx.amount,
        provider_amount=event.provider_amount if event else None,
        provider_status=event.provider_status if event else None,
        reason=event.note if event else None,
        since=event.created_at if event else tx.updated_at,
        held_from=event.from_status if event else None,
    )


def resolve(transaction_id: uuid.UUID, action: str, note: str) -> Transaction:
    """Resolve one needs_review transaction (multi-step: Kaspi is asked outside a step)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if not note.strip():
        raise ResolveRefused("a note saying why is required")
    with step():
        tx = _in_review(transaction_id)
        payment_id = tx.provider_payment_id
        if action == "grant":
            now = datetime.now(UTC)
            transition(
                tx,
                TxStatus.COMPLETED,
                source=Source.CLI,
                note=f"resolved by an operator: grant; {note}",
                amount=tx.amount,
                now=now,
            )
            grant_entitlements(tx, now)
            return tx

    between_steps()
    answer = _provider_status(payment_id)
    received = Decimal("0")
    if answer is not None and answer.state == "processed" and answer.amount is not None:
        received = answer.amount - (answer.refunded_amount or Decimal("0"))

    if action == "fail":
        if received > 0:
            raise ResolveRefused(
                f"Kaspi reports {received} received and not returned; resolve with "
                "--grant or --refund (money reported received is never just failed)"
            )
        with step():
            tx = _in_review(transaction_id)
            transition(
                tx,
                TxStatus.FAILED,
                source=Source.CLI,
                provider_status=answer.provider_status if answer else None,
                note=f"resolved by an operator: fail; {note}",
                amount=tx.amount,
            )
            return tx

    return _refund(transaction_id, payment_id, answer, received, note)


def _refund(
    transaction_id: uuid.UUID,
    payment_id: str | None,
    answer: PaymentStatus | None,
    received: Decimal,
    note: str,
) -> Transaction:
    """Return what Kaspi received and has not returned yet (the one refund sequence)."""
    if answer is None or payment_id is None or answer.state != "processed":
        raise ResolveRefused("Kaspi reports no payment to refund; resolve with --fail")
    paid = answer.amount if answer.amount is not None else received
    with step():
        tx = _in_review(transaction_id)
        if received <= 0:  # Kaspi has returned it all already: only our books move
            returned = paid - tx.refunded_amount
            tx.refunded_amount = paid
            transition(
                tx,
                TxStatus.REFUNDED,
                source=Source.CLI,
                provider_status=answer.provider_status,
                note=f"resolved by an operator: refund; {note}",
                amount=tx.amount,
                provider_amount=answer.amount,
            )
            refund_done(tx, returned, now=datetime.now(UTC))
            return tx
        reserved = sequence.reserve(
            tx,
            RefundKind.REVIEW,
            amount=received,
            refunded_total=paid,
            paid=paid,
            credits=[],
            source=Source.CLI,
            note=note,
        )
    try:
        sequence.run(reserved)
    except RefundRefused as exc:
        raise ResolveRefused(f"Kaspi refused the refund: {exc.__cause__ or exc}") from exc
    except RefundHeld as exc:
        raise ResolveRefused(exc.message) from exc
    with step():
        refunded = locks.lock_transaction(transaction_id)
        if refunded is None:
            raise NotFound("TRANSACTION_NOT_FOUND", "no such transaction")
        return refunded


def _in_review(transaction_id: uuid.UUID) -> Transaction:
    tx = locks.lock_transaction(transaction_id)
    if tx is None:
        raise NotFound("TRANSACTION_NOT_FOUND", "no such transaction")
    if tx.status != TxStatus.NEEDS_REVIEW:
        raise ResolveRefused(f"transaction is {tx.status}, not needs_review")
    return tx


def _provider_status(payment_id: str | None) -> PaymentStatus | None:
    if payment_id is None:
        return None
    try:
        return get_provider().get_status(payment_id)
    except ProviderError as exc:
        raise Unavailable("PROVIDER_UNAVAILABLE", f"Kaspi did not answer: {exc}") from exc
