"""Status machines of billing: transactions and credits.

Every change of a transaction's status, whoever asks (API, worker, dev endpoint,
CLI), goes through :func:`transition`, which refuses anything the table does not
list and appends an audit event. Callers hold the row lock (``app.locking``).
Credits change status through :func:`move_credit` or, for the conditional
UPDATE that consumes one, :func:`credit_status_update`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import Update, update

from app.billing.core.models import Credit, Transaction, TransactionEvent
from app.billing.core.notify import announce_after_commit
from app.extensions import db
from app.observability.transitions import Seen, count_committed
from app.state_machine import IllegalTransition, TransitionTable

__all__ = ["IllegalTransition", "TransitionTable"]


class TxStatus(StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"
    EXPIRED = "expired"
    # The buyer cancelled and Kaspi confirmed no payment.
    CANCELED = "canceled"
    # The provider's answer disagrees with ours (amount, currency, identity) or a
    # late payment is held by policy: nothing granted until an operator resolves it.
    NEEDS_REVIEW = "needs_review"
    REFUNDED = "refunded"


class Source(StrEnum):
    """Who asked for a change; recorded on every audit event."""

    API = "api"
    WORKER = "worker"
    DEV = "dev"
    CLI = "cli"
    SWEEP = "sweep"  # the late-payment reconciliation sweep


# Closed without a payment: the late-payment sweep keeps asking Kaspi about these
# for ``billing_policy.late_payment_window_days``.
CLOSED_UNPAID = frozenset({TxStatus.EXPIRED, TxStatus.FAILED, TxStatus.CANCELED})
# What a payment confirmed after closing may lead to (``late_payment_action``:
# grant → completed, refund → refunded, hold or a mismatch → needs_review).
_LATE_PAYMENT = frozenset({TxStatus.COMPLETED, TxStatus.REFUNDED, TxStatus.NEEDS_REVIEW})

TRANSACTIONS: TransitionTable[TxStatus] = TransitionTable(
    "transaction",
    {
        TxStatus.PENDING: frozenset(
            {
                TxStatus.COMPLETED,
                TxStatus.FAILED,
                TxStatus.EXPIRED,
                TxStatus.CANCELED,
                TxStatus.NEEDS_REVIEW,
            }
        ),
        TxStatus.COMPLETED: frozenset({TxStatus.REFUNDED}),
        TxStatus.FAILED: _LATE_PAYMENT,
        TxStatus.EXPIRED: _LATE_PAYMENT,
        TxStatus.CANCELED: _LATE_PAYMENT,
        # Resolved only by an operator (``billing resolve``): see REVIEW_SOURCES.
        TxStatus.NEEDS_REVIEW: frozenset({TxStatus.COMPLETED, TxStatus.REFUNDED, TxStatus.FAILED}),
        TxStatus.REFUNDED: frozenset(),
    },
)
# Nothing but an operator's command may move a transaction out of needs_review.
REVIEW_SOURCES = frozenset({Source.CLI})
# Statuses that mean "money was received and kept or returned": settled_at is set.
PAID = frozenset({TxStatus.COMPLETED, TxStatus.REFUNDED})


class CreditStatus(StrEnum):
    AVAILABLE = "available"
    CONSUMED = "consumed"
    REVOKED = "revoked"


CREDITS: TransitionTable[CreditStatus] = TransitionTable(
    "credit",
    {
        CreditStatus.AVAILABLE: frozenset({CreditStatus.CONSUMED, CreditStatus.REVOKED}),
        CreditStatus.CONSUMED: frozenset(),
        # A refund the provider refused gives the credits it had revoked back.
        CreditStatus.REVOKED: frozenset({CreditStatus.AVAILABLE}),
    },
)


def transition(
    tx: Transaction,
    target: TxStatus,
    *,
    source: Source | str,
    provider_status: str | None = None,
    note: str | None = None,
    now: datetime | None = None,
    amount: Decimal | None = None,
    provider_amount: Decimal | None = None,
) -> None:
    """Move ``tx`` to ``target`` or raise :class:`IllegalTransition`; never overwrites.

    ``amount``/``provider_amount``: ours and the provider's, recorded side by side
    when the change is about money.
    """
    source = Source(source)
    TRANSACTIONS.check(tx.status, target)
    if tx.status == TxStatus.NEEDS_REVIEW and source not in REVIEW_SOURCES:
        raise IllegalTransition("transaction", tx.status, target)
    moment = now or datetime.now(UTC)
    db.session.add(
        TransactionEvent(
            transaction_id=tx.id,
            from_status=tx.status,
            to_status=target,
            source=source,
            provider_status=provider_status,
            amount=amount,
            provider_amount=provider_amount,
            note=note,
            created_at=moment,
        )
    )
    tx.status = target
    tx.updated_at = moment
    if target in PAID and tx.settled_at is None:
        tx.settled_at = moment
    if target != TxStatus.PENDING:
        tx.next_poll_at = None
    announce_after_commit(tx.id)


def creation_committed(transaction_id: uuid.UUID, *, source: Source | str) -> None:
    """The first audit entry of a transaction, written and committed by a statement
    sent alone (an INSERT into transaction_events beside the one into transactions,
    to_status pending): metrics and the log count it as they count a transition."""
    count_committed([Seen(str(transaction_id), None, TxStatus.PENDING, Source(source), None)])


def move_credit(credit: Credit, target: CreditStatus, *, now: datetime) -> None:
    """Change a locked credit's status, with the timestamp that status carries."""
    CREDITS.check(credit.status, target)
    credit.status = target
    if target == CreditStatus.REVOKED:
        credit.revoked_at = now
    elif target == CreditStatus.AVAILABLE:
        credit.revoked_at = None


def credit_status_update(current: CreditStatus, target: CreditStatus, **values: Any) -> Update:
    """A conditional ``UPDATE billing_credits ... WHERE status = current`` for one change.

    The table is asked first; the WHERE makes the change a no-op (rowcount 0)
    for a row that left ``current`` meanwhile.
    """
    CREDITS.check(current, target)
    return update(Credit).where(Credit.status == current).values(status=target, **values)
