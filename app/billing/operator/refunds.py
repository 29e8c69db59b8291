"""Refunds (operator command): money back at the provider, unused credits revoked.

Three steps, because the provider is never called inside a database
transaction: (1) lock the transaction and its credits, refuse if any credit is
consumed, and revoke the available ones so nobody can spend them meanwhile;
(2) ask Kaspi to return the money; (3) mark the transaction refunded and, for a
club plan, take back the period it bought. If Kaspi refuses, step (1) is undone
and the credits become available again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select

from app.billing.core import locks
from app.billing.core.models import Credit, Transaction, TransactionRefund
from app.billing.core.status import (
    TRANSACTIONS,
    CreditStatus,
    Source,
    TxStatus,
    credit_status_update,
    move_credit,
    transition,
)
from app.billing.kaspi.client import (
    PaymentProvider,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    RefundOutcomeUnknown,
)
from app.billing.kaspi.provider import get_provider
from app.clubs import subscriptions
from app.clubs.models import SubscriptionGrant
from app.db import outside_transaction, step
from app.domain_errors import Conflict
from app.extensions import db


class RefundRefused(Conflict):
    def __init__(self, message: str) -> None:
        super().__init__("REFUND_REFUSED", message)


@dataclass(frozen=True)
class RefundResult:
    transaction_id: uuid.UUID
    status: str


def refund(transaction_id: uuid.UUID, *, source: Source | str = Source.CLI) -> RefundResult:
    """Reserve (revoke) in one step, ask Kaspi outside any transaction, record in another."""
    with step():
        payment_id, amount, revoked, total = _reserve(transaction_id)
    outside_transaction()
    provider = get_provider()
    operation_id = None
    try:
        # A refund whose answer was lost last time is not sent twice.
        if not _already_refunded(provider, payment_id, total):
            operation_id = provider.refund(payment_id, amount)
    except RefundOutcomeUnknown as exc:
        # Kaspi may have returned the money: keep the credits revoked, and let a
        # rerun of the command find out (it checks the provider first).
        raise RefundRefused(
            f"no answer from the provider ({exc}); credits stay revoked; run the refund again"
        ) from exc
    except (ProviderRejected, ProviderUnavailable) as exc:
        # A concurrent run of this command may have refunded first; then this
        # rejection (an over-refund) is its success and the credits stay revoked.
        if not _refunded_meanwhile(provider, payment_id, total):
            with step():
                _restore(revoked)
            raise RefundRefused(f"the provider did not refund: {exc}") from exc
    with step():
        tx = _mark_refunded(transaction_id, source, amount, operation_id)
        return RefundResult(tx.id, tx.status)


def _mark_refunded(
    transaction_id: uuid.UUID,
    source: Source | str,
    amount: Decimal,
    operation_id: str | None,
) -> Transaction:
    tx = locks.lock_transaction(transaction_id)
    if tx is None:
        raise RefundRefused("no such transaction")
    if tx.status == TxStatus.REFUNDED:  # a concurrent run got here first
        return tx
    now = datetime.now(UTC)
    # Lock order: transactions → clubs → club_subscriptions → billing_credits.
    period_note = ""
    grant = db.session.scalar(
        select(SubscriptionGrant).where(SubscriptionGrant.source_transaction_id == tx.id)
    )
    if grant is not None and subscriptions.take_back_period(grant, now):
        period_note = "; the subscription period it bought was taken back"
    # Revoke again under the lock: a concurrent run's failure path may have
    # restored credits of this purchase after we revoked them.
    revoked = 0
    for credit in locks.lock_credits_of_transaction(tx.id):
        if credit.status == CreditStatus.AVAILABLE:
            move_credit(credit, CreditStatus.REVOKED, now=now)
        revoked += credit.status == CreditStatus.REVOKED
    transition(
        tx,
        TxStatus.REFUNDED,
        source=source,
        provider_status="Returned",
        note=f"refunded; {revoked} unused credit(s) revoked{period_note}",
        now=now,
        amount=tx.amount,
        provider_amount=amount,
    )
    # The refunds audit: what this refund returned (the rest, after any partial ones).
    tx.refunded_amount = tx.amount
    db.session.add(
        TransactionRefund(
            transaction_id=tx.id,
            amount=amount,
            currency=tx.currency,
            provider_operation_id=operation_id,
            credits_revoked=revoked,
            source=Source(source),
            note="full refund",
        )
    )
    return tx


def _refunded_meanwhile(provider: PaymentProvider, payment_id: str, amount: Decimal) -> bool:
    try:
        return _already_refunded(provider, payment_id, amount)
    except ProviderError:
        return False


def _already_refunded(provider: PaymentProvider, payment_id: str, amount: Decimal) -> bool:
    refunded = provider.get_status(payment_id).refunded_amount
    return refunded is not None and refunded >= amount


def _reserve(transaction_id: uuid.UUID) -> tuple[str, Decimal, list[uuid.UUID], Decimal]:
    """Revoke the unused credits; answers (payment id, amount still to return, the
    revoked credits, the total the payment's refunds will then add up to)."""
    tx = locks.lock_transaction(transaction_id)
    if tx is None:
        raise RefundRefused("no such transaction")
    if not TRANSACTIONS.allows(tx.status, TxStatus.REFUNDED):
        raise RefundRefused(f"transaction is {tx.status}; only completed ones can be refunded")
    if not tx.provider_payment_id:
        raise RefundRefused("transaction has no provider payment to refund")
    credits = locks.lock_credits_of_transaction(tx.id)
    consumed = [c for c in credits if c.status == CreditStatus.CONSUMED]
    if consumed:
        raise RefundRefused(
            f"{len(consumed)} credit(s) from this purchase are already used "
            f"(event {consumed[0].consumed_event_id}); refusing to refund"
        )
    now = datetime.now(UTC)
    revoked = []
    for credit in credits:
        if credit.status == CreditStatus.AVAILABLE:
            move_credit(credit, CreditStatus.REVOKED, now=now)
            revoked.append(credit.id)
    db.session.flush()
    return tx.provider_payment_id, tx.amount - tx.refunded_amount, revoked, tx.amount


def _restore(credit_ids: list[uuid.UUID]) -> None:
    if credit_ids:
        db.session.execute(
            credit_status_update(
                CreditStatus.REVOKED, CreditStatus.AVAILABLE, revoked_at=None
            ).where(Credit.id.in_(credit_ids))
        )
