"""Whether a provider's "paid" answer is really about this transaction and its price.

A Processed answer settles only when the amount (exact Decimal) and currency match
ours and the answer provably names this transaction: the payment id we stored and,
wherever the provider reports it, the ExternalId we gave it (our transaction id).
Anything else is held in ``needs_review``: nothing granted, both amounts audited,
an ERROR logged with the transaction id, and an operator decides.
"""

from __future__ import annotations

import logging

from app.billing.core.models import Transaction
from app.billing.core.status import Source, TxStatus, transition
from app.billing.core.terms import Terms
from app.billing.kaspi.client import PaymentStatus

log = logging.getLogger(__name__)

# Kaspi takes and reports tenge only; an answer that names no currency is in KZT.
PROVIDER_CURRENCY = "KZT"


def mismatch(terms: Terms, payment_id: str | None, answer: PaymentStatus) -> str | None:
    """Why ``answer`` may not settle the transaction with ``terms`` and our stored
    ``payment_id`` (a readable reason), or None when it may."""
    reasons = []
    if answer.amount is None:
        reasons.append("the provider reported no amount")
    elif answer.amount != terms.amount:
        reasons.append(f"amount: ours {terms.amount}, provider {answer.amount}")
    currency = answer.currency or PROVIDER_CURRENCY
    if currency != terms.currency:
        reasons.append(f"currency: ours {terms.currency}, provider {currency}")
    if answer.payment_id is not None and answer.payment_id != payment_id:
        reasons.append(f"payment id: ours {payment_id}, provider {answer.payment_id}")
    if answer.external_id is not None and answer.external_id != str(terms.id):
        reasons.append(f"ExternalId {answer.external_id!r} is not this transaction")
    return "; ".join(reasons) or None


def hold_for_review(tx: Transaction, answer: PaymentStatus, reason: str, *, source: Source) -> None:
    """Move the locked ``tx`` to needs_review, audited with both amounts; grant nothing."""
    transition(
        tx,
        TxStatus.NEEDS_REVIEW,
        source=source,
        provider_status=answer.provider_status,
        note=reason,
        amount=tx.amount,
        provider_amount=answer.amount,
    )
    log.error(
        "transaction %s needs review: %s (provider status %s, payment %s)",
        tx.id,
        reason,
        answer.provider_status,
        tx.provider_payment_id,
    )
