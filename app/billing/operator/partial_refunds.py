"""Refund what is unused: the share of a purchase whose credits were never spent.

``billing refund ID --unused``: of a completed credit purchase of N credits with
K still available, return ``amount * K / N`` at Kaspi (a partial payment/return),
revoke exactly those K credits, and leave the consumed ones alone. The status stays
``completed`` (the buyer keeps what they used); the transaction's
``refunded_amount`` adds up every refund and each one is a ``transaction_refunds``
row with its amount and Kaspi's operation id. When everything has been returned
the transaction becomes ``refunded``.

Three steps as in :mod:`app.billing.operator.refunds`: reserve (revoke) under the locks,
ask Kaspi outside any transaction, record. If Kaspi refuses, the credits come back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal

from app.billing.core import locks
from app.billing.core.models import TransactionRefund
from app.billing.core.status import CreditStatus, Source, TxStatus, move_credit, transition
from app.billing.kaspi.client import (
    ProviderRejected,
    ProviderUnavailable,
    RefundOutcomeUnknown,
)
from app.billing.kaspi.provider import get_provider
from app.billing.operator.refunds import RefundRefused, _restore
from app.catalog.services import get_product
from app.db import outside_transaction, step
from app.extensions import db

CENT = Decimal("0.01")


@dataclass(frozen=True)
class PartialRefund:
    transaction_id: uuid.UUID
    status: str
    amount: Decimal
    credits_revoked: int
    refunded_total: Decimal


def unused_share(amount: Decimal, quantity: int, unused: int) -> Decimal:
    """The price of ``unused`` of ``quantity`` credits, rounded down to the cent
    (never more than was paid for them)."""
    return (amount * unused / quantity).quantize(CENT, rounding=ROUND_DOWN)


def refund_unused(transaction_id: uuid.UUID, *, source: Source | str = Source.CLI) -> PartialRefund:
    with step():
        payment_id, share, revoked = _reserve(transaction_id)
    outside_transaction()
    try:
        operation_id = get_provider().refund(payment_id, share)
    except RefundOutcomeUnknown as exc:
        raise RefundRefused(
            f"no answer from the provider ({exc}); the {len(revoked)} credit(s) stay revoked; "
            "check the payment's refunded amount (billing show) before doing anything else"
        ) from exc
    except (ProviderRejected, ProviderUnavailable) as exc:
        with step():
            _restore(revoked)
        raise RefundRefused(f"the provider did not refund: {exc}") from exc
    with step():
        tx = locks.lock_transaction(transaction_id)
        if tx is None:
            raise RefundRefused("no such transaction")
        tx.refunded_amount = tx.refunded_amount + share
        db.session.add(
            TransactionRefund(
                transaction_id=tx.id,
                amount=share,
                currency=tx.currency,
                provider_operation_id=operation_id,
                credits_revoked=len(revoked),
                source=Source(source),
                note=f"unused share: {len(revoked)} of {tx.quantity} credit(s)",
            )
        )
        if tx.refunded_amount >= tx.amount:
            transition(
                tx,
                TxStatus.REFUNDED,
                source=source,
                provider_status="Returned",
                note=f"fully refunded; last {len(revoked)} unused credit(s) revoked",
                amount=tx.amount,
                provider_amount=tx.refunded_amount,
            )
        return PartialRefund(tx.id, tx.status, share, len(revoked), tx.refunded_amount)


def _reserve(transaction_id: uuid.UUID) -> tuple[str, Decimal, list[uuid.UUID]]:
    tx = locks.lock_transaction(transaction_id)
    if tx is None:
        raise RefundRefused("no such transaction")
    if tx.status != TxStatus.COMPLETED:
        raise RefundRefused(f"transaction is {tx.status}; only completed ones can be refunded")
    product = get_product(tx.product_code)
    if product is None or product.type != "credit":
        raise RefundRefused("only credit purchases have unused credits; refund plans in full")
    if not tx.provider_payment_id:
        raise RefundRefused("transaction has no provider payment to refund")
    available = [
        c for c in locks.lock_credits_of_transaction(tx.id) if c.status == CreditStatus.AVAILABLE
    ]
    if not available:
        raise RefundRefused("no unused credits left in this purchase")
    share = unused_share(tx.amount, tx.quantity, len(available))
    share = min(share, tx.amount - tx.refunded_amount)
    if share <= 0:
        raise RefundRefused("nothing left to refund")
    now = datetime.now(UTC)
    for credit in available:
        move_credit(credit, CreditStatus.REVOKED, now=now)
    db.session.flush()
    return tx.provider_payment_id, share, [c.id for c in available]
