"""Late money: payments Kaspi confirms after we closed the transaction without one.

A transaction that left ``pending`` without a payment (expired, failed — also by
hand — or canceled) may still be paid: the buyer's Kaspi app had the link open,
Kaspi finished confirming after ExpireDate, an operator failed it too early. A
periodic sweep re-asks Kaspi about such transactions for
``billing_policy.late_payment_window_days`` after they closed. A confirmed payment
is verified like any other (a mismatch → needs_review), then handled by
``billing_policy.late_payment_action``:

- ``grant``: the buyer paid the catalog price; complete and grant.
- ``refund``: return the money at Kaspi, then ``refunded``.
- ``hold``: ``needs_review``; an operator decides (``billing resolve``).

Every move is a transition in the table, audited with source ``sweep``.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import update

from app.billing.core import locks
from app.billing.core.models import Transaction, TransactionRefund
from app.billing.core.status import CLOSED_UNPAID, Source, TxStatus, transition
from app.billing.kaspi.client import (
    PaymentStatus,
    ProviderError,
    ProviderRejected,
    RefundOutcomeUnknown,
)
from app.billing.kaspi.provider import get_provider
from app.billing.settle import verify
from app.billing.settle.settlement import settle
from app.catalog.services import get_policy
from app.db import outside_transaction, step
from app.extensions import db
from app.observability.context import transaction_context

log = logging.getLogger(__name__)

GRANT, REFUND, HOLD = "grant", "refund", "hold"


def claim_late_candidates(now: datetime, limit: int = 100) -> list[uuid.UUID]:
    """Claim closed-unpaid transactions due for another look (one step, the caller's).

    ``late_checked_at`` is stamped in the same statement's locks, so two sweeps never
    ask about the same row at once; ``updated_at`` is kept as it was, because it is
    when the transaction closed and so what the window counts from.
    """
    policy = get_policy()
    closed_since = now - timedelta(days=policy.late_payment_window_days)
    min_recheck = timedelta(seconds=current_app.config["LATE_RECHECK_S"])
    ids = list(locks.claim_closed_unpaid_transactions(closed_since, now, min_recheck, limit))
    if ids:
        db.session.execute(
            update(Transaction)
            .where(Transaction.id.in_(ids))
            .values(late_checked_at=now, updated_at=Transaction.updated_at)
        )
    return ids


def check_late(transaction_id: uuid.UUID, *, source: Source | str = Source.SWEEP) -> str:
    """Ask Kaspi about one closed-unpaid transaction and apply the policy. Multi-step."""
    with step():
        tx = db.session.get(Transaction, transaction_id)
        if tx is None or tx.status not in CLOSED_UNPAID or tx.provider_payment_id is None:
            return "not_closed"
        payment_id = tx.provider_payment_id
        action = get_policy().late_payment_action
        origin_request_id = tx.origin_request_id
    with transaction_context(transaction_id, origin_request_id):
        return _ask_and_apply(transaction_id, payment_id, action, source)


def _ask_and_apply(
    transaction_id: uuid.UUID, payment_id: str, action: str, source: Source | str
) -> str:
    outside_transaction()
    answer = get_provider().get_status(payment_id)
    if answer.state != "processed":
        return "unpaid"

    with step():
        tx = locks.lock_transaction(transaction_id)
        if tx is None or tx.status not in CLOSED_UNPAID:
            return "not_closed"
        reason = verify.mismatch(tx, answer)
        if reason is not None:
            verify.hold_for_review(
                tx, answer, f"late payment after {tx.status}; {reason}", source=source
            )
            return "needs_review"
        if action == HOLD:
            _hold(tx, answer, "late payment held by policy (late_payment_action=hold)", source)
            return "needs_review"
        if action == GRANT:
            settle(
                transaction_id,
                TxStatus.COMPLETED,
                source=source,
                provider_status=answer.provider_status,
                provider_transaction_id=answer.provider_transaction_id,
                note=f"late payment after {tx.status}; granted by policy",
                amount=tx.amount,
                provider_amount=answer.amount,
                allowed_from=CLOSED_UNPAID,
            )
            log.warning("late payment for transaction %s granted by policy", transaction_id)
            return "completed"
    return _refund_late(transaction_id, payment_id, answer, source)


def _hold(tx: Transaction, answer: PaymentStatus, note: str, source: Source | str) -> None:
    transition(
        tx,
        TxStatus.NEEDS_REVIEW,
        source=source,
        provider_status=answer.provider_status,
        note=note,
        amount=tx.amount,
        provider_amount=answer.amount,
    )
    log.error("transaction %s needs review: %s", tx.id, note)


def _refund_late(
    transaction_id: uuid.UUID, payment_id: str, answer: PaymentStatus, source: Source | str
) -> str:
    """Return the late payment at Kaspi (outside any transaction), then ``refunded``.

    Kaspi's own refunded amount makes this safe to repeat: what was already returned
    (an earlier run whose answer was lost) is not returned again.
    """
    paid = answer.amount or Decimal("0")
    to_return = paid - (answer.refunded_amount or Decimal("0"))
    operation_id = None
    if to_return > 0:
        outside_transaction()
        try:
            operation_id = get_provider().refund(payment_id, to_return)
        except RefundOutcomeUnknown as exc:
            # Maybe returned: the next sweep reads Kaspi's refunded amount first.
            log.error("late refund of %s: outcome unknown (%s); will re-check", transaction_id, exc)
            return "refund_unknown"
        except ProviderRejected as exc:
            with step():
                tx = locks.lock_transaction(transaction_id)
                if tx is not None and tx.status in CLOSED_UNPAID:
                    _hold(tx, answer, f"late payment; Kaspi refused the refund: {exc}", source)
            return "needs_review"
        except ProviderError as exc:
            log.warning("late refund of %s not sent: %s", transaction_id, exc)
            return "refund_unavailable"
    with step():
        tx = locks.lock_transaction(transaction_id)
        if tx is None or tx.status not in CLOSED_UNPAID:
            return "not_closed"
        closed_as = tx.status
        transition(
            tx,
            TxStatus.REFUNDED,
            source=source,
            provider_status=answer.provider_status,
            note=f"late payment after {closed_as}; refunded by policy",
            amount=tx.amount,
            provider_amount=paid,
        )
        tx.refunded_amount = paid
        db.session.add(
            TransactionRefund(
                transaction_id=tx.id,
                amount=paid,
                currency=tx.currency,
                provider_operation_id=operation_id,
                credits_revoked=0,
                source=Source(source),
                note="late payment refunded by policy",
            )
        )
    log.warning("late payment for transaction %s refunded by policy", transaction_id)
    return "refunded"
