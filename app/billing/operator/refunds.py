"""Refunds an operator asks for (``flask --app wsgi billing refund``).

- the whole purchase: refused while any credit it granted is consumed; its unused
  credits are revoked and, for a club plan, the period it bought is taken back;
- ``--unused``: of a completed credit purchase of N credits with K still
  available, ``amount * K / N`` (rounded down to the cent) is returned and exactly
  those K credits are revoked; the consumed ones stay, and so does ``completed``
  until everything has been returned.

Both reserve here, under the locks, and then run the one refund sequence
(:mod:`app.billing.refund.sequence`): Kaspi asked outside any transaction, one
ladder of errors, a lost answer held for review and re-asked.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from app.billing.core import locks
from app.billing.core.models import Credit, Transaction
from app.billing.core.status import CreditStatus, Source, TxStatus
from app.billing.refund import sequence
from app.billing.refund.sequence import Refunded, RefundKind, RefundRefused, Reserved
from app.catalog.services import get_product
from app.db import step
from app.money import CENT

__all__ = [
    "RefundRefused",
    "Refundable",
    "Refunded",
    "refund",
    "refund_unused",
    "refundable",
    "unused_share",
]


def refund(
    transaction_id: uuid.UUID,
    *,
    source: Source = Source.CLI,
    note: str | None = None,
    expect: Decimal | None = None,
) -> Refunded:
    """Return what is left of a completed purchase and revoke its unused credits.

    ``note`` (who asked and why) is kept on the refund's record; ``expect``, the
    amount an operator confirmed, refuses the refund if it would return another.
    """
    with step():
        reserved = _reserve_full(transaction_id, source, note, expect)
    return sequence.run(reserved)


def refund_unused(
    transaction_id: uuid.UUID,
    *,
    source: Source = Source.CLI,
    note: str | None = None,
    expect: Decimal | None = None,
) -> Refunded:
    """Return the share of a completed credit purchase whose credits were never spent."""
    with step():
        reserved = _reserve_unused(transaction_id, source, note, expect)
    return sequence.run(reserved)


@dataclass(frozen=True)
class Refundable:
    """What each kind of refund would return now (None: it would be refused)."""

    full: Decimal | None
    unused: Decimal | None
    unused_credits: int


def refundable(tx: Transaction, credits: Sequence[Credit]) -> Refundable:
    """What :func:`refund` and :func:`refund_unused` would return for ``tx`` as read
    (no lock: a preview for the console's confirmation; the refund itself checks
    again under the lock, and ``expect`` refuses it if the amount changed)."""
    if tx.status != TxStatus.COMPLETED or not tx.provider_payment_id:
        return Refundable(None, None, 0)
    left = tx.amount - tx.refunded_amount
    consumed = any(c.status == CreditStatus.CONSUMED for c in credits)
    full = left if left > 0 and not consumed else None
    available = sum(1 for c in credits if c.status == CreditStatus.AVAILABLE)
    unused = None
    product = get_product(tx.product_code)
    if product is not None and product.type == "credit" and available:
        share = min(unused_share(tx.amount, tx.quantity, available), left)
        unused = share if share > 0 else None
    return Refundable(full, unused, available)


def _as_confirmed(amount: Decimal, expect: Decimal | None) -> None:
    # A console's confirmation named an amount: the money that moves is exactly that.
    if expect is not None and expect != amount:
        raise RefundRefused(
            f"this refund would return {amount}, not the {expect} confirmed; "
            "look at the transaction again"
        )


def unused_share(amount: Decimal, quantity: int, unused: int) -> Decimal:
    """The price of ``unused`` of ``quantity`` credits, rounded down to the cent
    (never more than was paid for them)."""
    return (amount * unused / quantity).quantize(CENT, rounding=ROUND_DOWN)


def _completed(transaction_id: uuid.UUID) -> Transaction:
    tx = locks.lock_transaction(transaction_id)
    if tx is None:
        raise RefundRefused("no such transaction")
    if tx.status != TxStatus.COMPLETED:
        raise RefundRefused(f"transaction is {tx.status}; only completed ones can be refunded")
    return tx


def _reserve_full(
    transaction_id: uuid.UUID, source: Source, note: str | None, expect: Decimal | None
) -> Reserved:
    tx = _completed(transaction_id)
    credits = locks.lock_credits_of_transaction(tx.id)
    consumed = [c for c in credits if c.status == CreditStatus.CONSUMED]
    if consumed:
        raise RefundRefused(
            f"{len(consumed)} credit(s) from this purchase are already used "
            f"(event {consumed[0].consumed_event_id}); refusing to refund"
        )
    _as_confirmed(tx.amount - tx.refunded_amount, expect)
    return sequence.reserve(
        tx,
        RefundKind.FULL,
        amount=tx.amount - tx.refunded_amount,
        refunded_total=tx.amount,
        paid=tx.amount,
        credits=[c for c in credits if c.status == CreditStatus.AVAILABLE],
        source=source,
        note=f"full refund; {note}" if note else "full refund",
    )


def _reserve_unused(
    transaction_id: uuid.UUID, source: Source, note: str | None, expect: Decimal | None
) -> Reserved:
    tx = _completed(transaction_id)
    product = get_product(tx.product_code)
    if product is None or product.type != "credit":
        raise RefundRefused("only credit purchases have unused credits; refund plans in full")
    available = [
        c for c in locks.lock_credits_of_transaction(tx.id) if c.status == CreditStatus.AVAILABLE
    ]
    if not available:
        raise RefundRefused("no unused credits left in this purchase")
    share = unused_share(tx.amount, tx.quantity, len(available))
    share = min(share, tx.amount - tx.refunded_amount)
    if share <= 0:
        raise RefundRefused("nothing left to refund")
    _as_confirmed(share, expect)
    return sequence.reserve(
        tx,
        RefundKind.UNUSED,
        amount=share,
        refunded_total=tx.refunded_amount + share,
        paid=tx.amount,
        credits=available,
        source=source,
        note=f"unused share: {len(available)} of {tx.quantity} credit(s)"
        + (f"; {note}" if note else ""),
    )
