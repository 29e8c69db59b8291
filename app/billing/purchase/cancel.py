"""The buyer cancels a pending purchase, once Kaspi confirms there is no payment.

Multi-step, because Kaspi is asked outside any database transaction: (1) check
the caller's transaction; (2) ask Kaspi to close the payment, so its link can no
longer be paid, then for the payment's status; (3) under the row lock, apply what
Kaspi said: Processed settles as usual (verified, so a mismatch goes to
needs_review), anything else cancels.

Closing comes before the status read: once Kaspi has closed the payment, no Pay
can land after our read. Where Kaspi cannot close it (its API has no such call
for that payment, or it did not answer) the cancel still goes ahead, the answer
says ``link_closed: false``, and a payment made anyway is found by the
late-payment sweep and handled by the policy (``late_payment_action``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from app.billing.core import locks, queries
from app.billing.core.models import Transaction
from app.billing.core.status import Source, TxStatus, transition
from app.billing.kaspi.client import PaymentStatus, ProviderError, ProviderRejected
from app.billing.kaspi.provider import get_provider
from app.billing.settle import answer
from app.db import between_steps, step
from app.domain_errors import Conflict, Unavailable
from app.observability import metrics
from app.observability.context import transaction_log_context

log = logging.getLogger(__name__)

T = TypeVar("T")

# What a cancel that finds the payment made may answer 200 with.
PAID_OUTCOMES = frozenset({TxStatus.COMPLETED, TxStatus.NEEDS_REVIEW})


class TransactionNotPending(Conflict):
    def __init__(self, status: str) -> None:
        super().__init__(
            "TRANSACTION_NOT_PENDING",
            f"The transaction is {status}; only a pending one can be cancelled",
            current_status=str(status),
        )


def cancel(
    user_id: str, transaction_id: uuid.UUID, render: Callable[[Transaction, bool | None], T]
) -> T:
    """Cancel the caller's pending transaction; answers ``render(tx, link_closed)``.

    ``link_closed`` is True when Kaspi closed the payment link (nothing can be paid
    any more), False when it could not. Cancelling a cancelled transaction asks
    Kaspi to close the link again (closing is idempotent) and answers the same.
    Any other status is :class:`TransactionNotPending`.
    """
    with step():
        tx = queries.own_transaction(user_id, transaction_id)
        if tx.status not in (TxStatus.PENDING, TxStatus.CANCELED):
            raise TransactionNotPending(tx.status)
        already = tx.status == TxStatus.CANCELED
        payment_id = tx.provider_payment_id

    with transaction_log_context(transaction_id):
        between_steps()
        closed = close_link(payment_id) if payment_id is not None else True
        if already:
            with step():
                return render(queries.own_transaction(user_id, transaction_id), closed)
        reply = _ask_provider(payment_id) if payment_id is not None else None
        asked_at = datetime.now(UTC)
        with step():
            return _apply(transaction_id, reply, closed, asked_at, render)


def _apply(
    transaction_id: uuid.UUID,
    reply: PaymentStatus | None,
    closed: bool,
    asked_at: datetime,
    render: Callable[[Transaction, bool | None], T],
) -> T:
    if reply is not None and reply.state == "processed":
        # Paid after all: settle exactly as the worker would, and say so.
        answer.apply_locked(transaction_id, reply, asked_at=asked_at, source=Source.API)
        tx = _locked(transaction_id)
        if tx.status not in PAID_OUTCOMES:
            # Closed by someone else meanwhile; the late-payment sweep takes it.
            raise TransactionNotPending(tx.status)
        metrics.CANCEL_OUTCOMES.labels("paid").inc()
        return render(tx, False)
    tx = _locked(transaction_id)
    if tx.status == TxStatus.PENDING:
        transition(
            tx,
            TxStatus.CANCELED,
            source=Source.API,
            provider_status=reply.provider_status if reply else None,
            note=_note(reply, closed),
        )
    if tx.status != TxStatus.CANCELED:
        # Settled meanwhile (worker, dev settle): the cancel lost the race.
        raise TransactionNotPending(tx.status)
    metrics.CANCEL_OUTCOMES.labels("closed" if closed else "open").inc()
    return render(tx, closed)


def close_link(payment_id: str) -> bool:
    """Ask Kaspi to close the payment; True if it did (or nothing can be paid anyway).

    A refusal (already paid, or a payment Kaspi cannot close) and silence both
    leave the link as it is: the status read that follows decides.
    """
    try:
        closed = get_provider().cancel_payment(payment_id)
    except ProviderRejected as exc:
        log.info("cancel: Kaspi did not close payment %s: %s", payment_id, exc)
        return False
    except ProviderError as exc:
        log.warning("cancel: Kaspi did not answer the close of payment %s: %s", payment_id, exc)
        return False
    return closed.state != "processed"


def _ask_provider(payment_id: str) -> PaymentStatus:
    try:
        return get_provider().get_status(payment_id)
    except ProviderError as exc:
        log.warning("cancel: Kaspi did not answer for payment %s: %s", payment_id, exc)
        raise Unavailable(
            "PROVIDER_UNAVAILABLE",
            "The payment provider did not answer; nothing was cancelled. Try again.",
            retry_after_s=5,
        ) from exc


def _locked(transaction_id: uuid.UUID) -> Transaction:
    tx = locks.lock_transaction(transaction_id)
    if tx is None:
        raise queries.transaction_not_found()
    return tx


def _note(reply: PaymentStatus | None, closed: bool) -> str:
    if reply is None:
        return "cancelled by the buyer; no payment link had been created"
    link = "the link closed at Kaspi" if closed else "the link could not be closed at Kaspi"
    return f"cancelled by the buyer; Kaspi reports {reply.provider_status}, no payment; {link}"
