"""Applying one Kaspi answer to one transaction: the single path for the single
check, the settle batch, the buyer's cancel and the late-payment sweep.

A transaction leaves ``pending`` only on the provider's answer: Processed →
completed (when amount, currency and identity match, :mod:`verify`; else
needs_review), Error → failed, or — once the provider's own expiry has passed and
it still reports no payment — expired. Kaspi statuses other than Processed and
Error mean "still pending". A payment confirmed after the transaction closed is
handled by ``billing_policy.late_payment_action`` (grant | refund | hold).

The common answers of a pending transaction are one statement sent alone each
(:func:`_apply_alone`), committed as it returns:

- a payment still open (or Kaspi silent): a conditional UPDATE that reschedules
  the check (``schedule.reschedule``);
- a paid credit purchase whose answer matches its terms (they never change):
  ``settlement.complete_credit_purchase``, the status path's one-statement
  completion with the grants.

Anything else (a decline, an expiry, a mismatch for review, a club plan) takes a
short step under the row lock (:func:`apply_locked`): the status machine, the
grant and the audit entry. Nothing here weakens a guarantee: settling is
idempotent and serialised on the transaction's row lock (the one-statement path's
UPDATE takes it too, and changes nothing unless the row is still pending).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import scoped_session

from app.billing.core import locks, notify, status
from app.billing.core.models import Transaction
from app.billing.core.status import CLOSED_UNPAID, Source, TxStatus, transition
from app.billing.core.terms import TERMS_COLUMNS, Terms
from app.billing.kaspi.client import PaymentStatus
from app.billing.refund import sequence
from app.billing.refund.sequence import RefundHeld, RefundKind, RefundRefused
from app.billing.settle import schedule, settlement, verify
from app.billing.settle.outcome import Outcome
from app.catalog.models import LateAction
from app.catalog.services import sold_product
from app.db import step, write_alone
from app.domain_errors import Unavailable
from app.extensions import db

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Due:
    """A transaction as a check reads it before asking Kaspi: plain values (no ORM
    row crosses the provider call), its terms and its check bookkeeping."""

    terms: Terms
    status: str
    provider_payment_id: str | None  # None: the link was never stored (crash recovery)
    poll_attempts: int
    poll_interval_s: int
    provider_expires_at: datetime | None
    # The purchase request that created the row, for the log lines about it.
    origin_request_id: str | None


_DUE_COLUMNS = (
    "status",
    "provider_payment_id",
    "poll_attempts",
    "poll_interval_s",
    "provider_expires_at",
    "origin_request_id",
)
_READ_DUE = select(*(getattr(Transaction, name) for name in TERMS_COLUMNS + _DUE_COLUMNS))
_TERMS = len(TERMS_COLUMNS)


def read_due(transaction_ids: Sequence[uuid.UUID]) -> list[Due]:
    """The rows to check, in one statement of the caller's step."""
    rows = db.session.execute(_READ_DUE.where(Transaction.id.in_(list(transaction_ids))))
    return [Due(Terms(*row[:_TERMS]), *row[_TERMS:]) for row in rows]


def apply_answer(
    due: Due,
    answer: PaymentStatus,
    *,
    asked_at: datetime,
    source: Source,
    late_action: LateAction | None = None,
) -> Outcome:
    """Apply ``answer`` to the transaction ``due`` describes, in steps of its own.

    ``due.status`` says what the caller asked about: a pending transaction, or
    (``late_action`` given) one closed without a payment.
    """
    if due.status in CLOSED_UNPAID and late_action is not None:
        return _apply_late(due, answer, late_action, source)
    alone = _apply_alone(due, answer, asked_at, source)
    if alone is not None:
        return alone
    with step():
        outcome = apply_locked(due.terms.id, answer, asked_at=asked_at, source=source)
        if outcome == Outcome.WAITING:
            _reschedule(due, asked_at, executor=db.session)
        return outcome


def apply_locked(
    transaction_id: uuid.UUID, answer: PaymentStatus, *, asked_at: datetime, source: Source
) -> Outcome:
    """Apply one answer to a pending transaction under its row lock (the caller's step)."""
    tx = locks.lock_transaction(transaction_id)
    if tx is None:
        return Outcome.NOT_PENDING
    if tx.status != TxStatus.PENDING:
        if answer.state == "processed" and tx.status in CLOSED_UNPAID:
            # Closed by hand (or a cancel) while the buyer paid: the late-payment
            # sweep applies the policy to it; nothing is overwritten here.
            log.error(
                "provider says %s for transaction %s, which is already %s; "
                "the late-payment sweep will handle it",
                answer.provider_status,
                transaction_id,
                tx.status,
            )
            return Outcome.CONFLICT
        return Outcome.NOT_PENDING
    if answer.state == "processed":
        return _settle_paid(tx, answer, source)
    if answer.state == "error":
        failed = settlement.settle_locked(
            tx, TxStatus.FAILED, source=source, provider_status=answer.provider_status
        )
        return Outcome.FAILED if failed.changed else Outcome.UNCHANGED
    if answer.expires_at is not None and answer.expires_at != tx.provider_expires_at:
        tx.provider_expires_at = answer.expires_at  # Kaspi may move its ExpireDate
        # A buyer's page must learn it: the link's end is a change they see.
        notify.announce_after_commit(tx.id)
    if schedule.provider_link_closed(tx.provider_expires_at, tx.expires_at, asked_at):
        expired = settlement.settle_locked(
            tx,
            TxStatus.EXPIRED,
            source=source,
            provider_status=answer.provider_status,
            note="expired at the provider with no payment",
        )
        return Outcome.EXPIRED if expired.changed else Outcome.UNCHANGED
    return Outcome.WAITING


def _settle_paid(tx: Transaction, answer: PaymentStatus, source: Source) -> Outcome:
    reason = verify.mismatch(Terms.of(tx), tx.provider_payment_id, answer)
    if reason is not None:
        verify.hold_for_review(tx, answer, reason, source=source)
        return Outcome.NEEDS_REVIEW
    result = settlement.settle_locked(
        tx,
        TxStatus.COMPLETED,
        source=source,
        provider_status=answer.provider_status,
        provider_transaction_id=answer.provider_transaction_id,
        amount=tx.amount,
        provider_amount=answer.amount,
    )
    return Outcome.COMPLETED if result.changed else Outcome.UNCHANGED


# -- the common answers, one statement each ------------------------------------------


def _apply_alone(
    due: Due, answer: PaymentStatus, asked_at: datetime, source: Source
) -> Outcome | None:
    """A payment still open only reschedules the check; a paid credit purchase that
    matches its terms settles. Anything else answers None: the locked path decides."""
    if answer.state == "processed":
        return Outcome.COMPLETED if _settle_paid_alone(due, answer, source) else None
    if answer.state == "error":
        return None
    provider_expires_at = answer.expires_at or due.provider_expires_at
    if schedule.provider_link_closed(provider_expires_at, due.terms.expires_at, asked_at):
        return None
    with write_alone() as conn:
        still_pending = _reschedule(due, asked_at, executor=conn, moved=answer.expires_at)
    if still_pending and answer.expires_at not in (None, due.provider_expires_at):
        # Kaspi moved the link's end (committed above): streams show it at once.
        notify.publish(due.terms.id)
    return Outcome.WAITING if still_pending else Outcome.NOT_PENDING


def _settle_paid_alone(due: Due, answer: PaymentStatus, source: Source) -> bool:
    """A paid credit purchase whose answer matches: one statement. Anything else (a
    mismatch for review, a club plan, a row that left pending meanwhile) answers
    False and takes the locked path, which decides it."""
    if verify.mismatch(due.terms, due.provider_payment_id, answer) is not None:
        return False
    now = datetime.now(UTC)
    with write_alone() as conn:
        # Inside: a cold catalog cache reads the catalog, and the block ends that read.
        product = sold_product(due.terms.product_code)
        if product is None or product.type != "credit":
            return False
        result = settlement.complete_credit_purchase(
            conn,
            due.terms,
            product.code,
            source=source,
            provider_status=answer.provider_status,
            provider_transaction_id=answer.provider_transaction_id,
            provider_amount=answer.amount,
            now=now,
        )
    if result.changed:
        status.completion_committed(due.terms, source=source, now=now, deliveries=result.deliveries)
    return result.changed


def reschedule_silent(due: Due, asked_at: datetime) -> None:
    """Kaspi did not answer: only the next check moves (one statement)."""
    with write_alone() as conn:
        _reschedule(due, asked_at, executor=conn)


def _reschedule(
    due: Due,
    asked_at: datetime,
    *,
    executor: Connection | scoped_session[Any],
    moved: datetime | None = None,
) -> bool:
    return schedule.reschedule(
        executor,
        due.terms.id,
        poll_attempts=due.poll_attempts,
        poll_interval_s=due.poll_interval_s,
        asked_at=asked_at,
        provider_expires_at=moved,
    )


# -- money that came after we closed -------------------------------------------------


def _apply_late(due: Due, answer: PaymentStatus, action: LateAction, source: Source) -> Outcome:
    """A closed transaction that Kaspi reports paid: verified like any other, then
    the policy: ``grant`` completes it, ``refund`` returns the money, ``hold``
    holds it for an operator."""
    if answer.state != "processed":
        return Outcome.UNPAID
    with step():
        tx = locks.lock_transaction(due.terms.id)
        if tx is None or tx.status not in CLOSED_UNPAID:
            return Outcome.NOT_CLOSED
        closed_as = tx.status
        reason = verify.mismatch(Terms.of(tx), tx.provider_payment_id, answer)
        if reason is not None or action == LateAction.HOLD:
            why = reason or "held by policy (late_payment_action=hold)"
            verify.hold_for_review(
                tx, answer, f"late payment after {closed_as}; {why}", source=source
            )
            return Outcome.NEEDS_REVIEW
        if action == LateAction.GRANT:
            settlement.settle_locked(
                tx,
                TxStatus.COMPLETED,
                source=source,
                provider_status=answer.provider_status,
                provider_transaction_id=answer.provider_transaction_id,
                note=f"late payment after {closed_as}; granted by policy",
                amount=tx.amount,
                provider_amount=answer.amount,
                allowed_from=CLOSED_UNPAID,
            )
            log.warning("late payment for transaction %s granted by policy", tx.id)
            return Outcome.COMPLETED
        reserved = _reserve_late_refund(tx, answer, source)
        if reserved is None:
            return Outcome.REFUNDED
    return _refund_late(reserved)


def _reserve_late_refund(
    tx: Transaction, answer: PaymentStatus, source: Source
) -> sequence.Reserved | None:
    """What Kaspi holds of the late payment, written down to be returned; None when
    Kaspi has returned it all already (then only our books move)."""
    paid = answer.amount or Decimal("0")
    to_return = paid - (answer.refunded_amount or Decimal("0"))
    if to_return <= 0:
        transition(
            tx,
            TxStatus.REFUNDED,
            source=source,
            provider_status=answer.provider_status,
            note=f"late payment after {tx.status}; already returned at Kaspi",
            amount=tx.amount,
            provider_amount=paid,
        )
        tx.refunded_amount = paid
        return None
    return sequence.reserve(
        tx,
        RefundKind.LATE,
        amount=to_return,
        refunded_total=paid,
        paid=paid,
        credits=[],
        source=source,
        note="late payment refunded by policy",
    )


def _refund_late(reserved: sequence.Reserved) -> Outcome:
    try:
        sequence.run(reserved)
    except RefundHeld:
        return Outcome.REFUND_UNKNOWN
    except RefundRefused:
        return Outcome.NEEDS_REVIEW  # Kaspi refused to return it: held for an operator
    except Unavailable as exc:
        log.warning("late refund of %s not sent: %s", reserved.transaction_id, exc)
        return Outcome.REFUND_UNAVAILABLE
    log.warning("late payment for transaction %s refunded by policy", reserved.transaction_id)
    return Outcome.REFUNDED
