"""Whether a provider's "paid" answer is really about this transaction and its price.

A Processed answer settles only when the amount (exact Decimal) and currency match
ours and the answer provably names this transaction: the payment id we stored and,
wherever the provider reports it, the ExternalId we gave it (our transaction id).
Anything else is held in ``needs_review``: nothing granted, both amounts audited,
an ERROR logged with the transaction id, and an operator decides.
"""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal
from typing import Protocol

from app.billing.core.models import Transaction
from app.billing.core.status import Source, TxStatus, transition
from app.billing.kaspi.client import PaymentStatus

log = logging.getLogger(__name__)

# Kaspi takes and reports tenge only; an answer that names no currency is in KZT.
PROVIDER_CURRENCY = "KZT"


class Terms(Protocol):
    """What an answer is checked against: set when the intent was made, never changed."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def currency(self) -> str: ...
    @property
    def provider_payment_id(self) -> str | None: ...


def mismatch(tx: Terms, answer: PaymentStatus) -> str | None:
    """Why ``answer`` may not settle ``tx`` (a readable reason), or None when it may."""
    reasons = []
    if answer.amount is None:
        reasons.append("the provider reported no amount")
    elif answer.amount != tx.amount:
        reasons.append(f"amount: ours {tx.amount}, provider {answer.amount}")
    currency = answer.currency or PROVIDER_CURRENCY
    if currency != tx.currency:
        reasons.append(f"currency: ours {tx.currency}, provider {currency}")
    if answer.payment_id is not None and answer.payment_id != tx.provider_payment_id:
        reasons.append(f"payment id: ours {tx.provider_payment_id}, provider {answer.payment_id}")
    if answer.external_id is not None and answer.external_id != str(tx.id):
        reasons.append(f"ExternalId {answer.external_id!r} is not this transaction")
    return "; ".join(reasons) or None


def hold_for_review(
    tx: Transaction, answer: PaymentStatus, reason: str, *, source: Source | str
) -> None:
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
