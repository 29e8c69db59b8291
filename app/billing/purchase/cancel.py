"""The buyer cancels a pending purchase, once Kaspi confirms there is no payment.

Multi-step, because Kaspi is asked outside any database transaction: (1) check
the caller's transaction; (2) ask Kaspi for the payment's status; (3) under the
row lock, apply what Kaspi said: Processed settles as usual (verified, so a
mismatch goes to needs_review), anything else cancels. A payment that arrives at
Kaspi after the cancel is found by the late-payment sweep.
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
from app.billing.kaspi.client import PaymentStatus, ProviderError
from app.billing.kaspi.provider import get_provider
from app.billing.settle import answer
from app.db import between_steps, step
from app.domain_errors import Conflict, Unavailable

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


def cancel(user_id: str, transaction_id: uuid.UUID, render: Callable[[Transaction], T]) -> T:
    """Cancel the caller's pending transaction; answers ``render(tx)`` of the result.

    Cancelling a cancelled transaction answers the same again; any other status
    is :class:`TransactionNotPending`.
    """
    with step():
        tx = queries.own_transaction(user_id, transaction_id)
        if tx.status == TxStatus.CANCELED:
            return render(tx)
        if tx.status != TxStatus.PENDING:
            raise TransactionNotPending(tx.status)
        payment_id = tx.provider_payment_id

    between_steps()
    reply = _ask_provider(payment_id) if payment_id is not None else None
    asked_at = datetime.now(UTC)

    with step():
        if reply is not None and reply.state == "processed":
            # Paid after all: settle exactly as the worker would, and say so.
            answer.apply_locked(transaction_id, reply, asked_at=asked_at, source=Source.API)
            tx = _locked(transaction_id)
            if tx.status not in PAID_OUTCOMES:
                # Closed by someone else meanwhile; the late-payment sweep takes it.
                raise TransactionNotPending(tx.status)
            return render(tx)
        tx = _locked(transaction_id)
        if tx.status == TxStatus.PENDING:
            transition(
                tx,
                TxStatus.CANCELED,
                source=Source.API,
                provider_status=reply.provider_status if reply else None,
                note=_note(reply),
            )
        if tx.status != TxStatus.CANCELED:
            # Settled meanwhile (worker, dev settle): the cancel lost the race.
            raise TransactionNotPending(tx.status)
        return render(tx)


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


def _note(reply: PaymentStatus | None) -> str:
    if reply is None:
        return "cancelled by the buyer; no payment link had been created"
    return f"cancelled by the buyer; Kaspi reports {reply.provider_status}, no payment"
