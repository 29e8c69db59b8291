"""The one refund sequence: reserve, ask Kaspi, record — for every kind of refund.

Every refund (an operator's full refund, the unused credits' share, a late
payment returned by policy, a held payment returned on review) runs the same
three steps, because Kaspi is never called inside a database transaction:

1. **reserve** (:func:`reserve`, in the caller's step: ``app.billing.operator.refunds``,
   ``app.billing.operator.review``, ``app.billing.settle.answer``): lock the
   transaction and its credits, refuse what may not be refunded, revoke the
   credits the refund returns, and write the :class:`RefundAttempt` — so a refund
   is on record before it leaves;
2. **ask** Kaspi to return the money — once: a refund whose answer was lost is
   never sent again, it is re-asked about (:func:`recheck_unknown`);
3. **record** the outcome in a step of its own, with one ladder of errors:

   - returned → the refund row, the transaction's refunded amount and its status
     (``refunded`` when everything is back);
   - refused or unavailable (nothing was returned) → the credits come back and the
     attempt is ``failed``; a late payment Kaspi refuses to return is held for review;
   - no answer (:class:`RefundOutcomeUnknown`) → the transaction is held in
     ``needs_review`` as ``refund_unknown`` and :func:`recheck_unknown` asks Kaspi
     again until the outcome is known.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import select

from app.billing.core import locks
from app.billing.core.models import Credit, RefundAttempt, Transaction, TransactionRefund
from app.billing.core.status import (
    AttemptState,
    CreditStatus,
    Source,
    TxStatus,
    move_attempt,
    move_credit,
    refund_done,
    restore_credits,
    transition,
)
from app.billing.kaspi.client import (
    PaymentProvider,
    ProviderError,
    ProviderRejected,
    RefundOutcomeUnknown,
)
from app.billing.kaspi.provider import get_provider
from app.clubs import subscriptions
from app.clubs.models import SubscriptionGrant
from app.db import between_steps, step
from app.domain_errors import Conflict, Unavailable
from app.extensions import db
from app.observability.context import transaction_log_context

log = logging.getLogger(__name__)

# The note prefix of a hold for a refund whose outcome Kaspi never told us.
REFUND_UNKNOWN = "refund_unknown"
# An attempt still "asking" after this long lost its process mid-call: re-asked.
ASKING_GIVEN_UP = timedelta(minutes=10)


class RefundKind(StrEnum):
    FULL = "full"
    UNUSED = "unused"
    LATE = "late"
    REVIEW = "review"


# Attempts whose outcome is not known yet.
OPEN = frozenset({AttemptState.ASKING, AttemptState.UNKNOWN})


class RefundRefused(Conflict):
    def __init__(self, message: str) -> None:
        super().__init__("REFUND_REFUSED", message)


class RefundHeld(Conflict):
    """Kaspi did not answer the refund: held for review, re-asked until known."""

    def __init__(self, message: str) -> None:
        super().__init__("REFUND_OUTCOME_UNKNOWN", message)


@dataclass(frozen=True)
class Refunded:
    transaction_id: uuid.UUID
    status: str
    amount: Decimal
    credits_revoked: int
    refunded_total: Decimal


@dataclass(frozen=True)
class Reserved:
    """A refund written down (its attempt row) and ready to be asked of Kaspi."""

    attempt_id: int
    transaction_id: uuid.UUID
    payment_id: str
    amount: Decimal
    refunded_total: Decimal
    source: Source


def reserve(
    tx: Transaction,
    kind: RefundKind,
    *,
    amount: Decimal,
    refunded_total: Decimal,
    paid: Decimal,
    credits: list[Credit],
    source: Source,
    note: str,
) -> Reserved:
    """Write the refund down in the caller's step, where ``tx`` and ``credits`` are
    locked and the caller has checked the refund is allowed: the credits it returns
    are revoked (nobody can spend them meanwhile) and its attempt row is added."""
    if not tx.provider_payment_id:
        raise RefundRefused("transaction has no provider payment to refund")
    if _open_attempt(tx.id):
        raise RefundRefused(
            "a refund of this transaction is already under way; its outcome is checked with "
            "Kaspi before anything else is returned"
        )
    now = datetime.now(UTC)
    for credit in credits:
        move_credit(credit, CreditStatus.REVOKED, now=now)
    attempt = RefundAttempt(
        transaction_id=tx.id,
        kind=kind,
        state=AttemptState.ASKING,
        amount=amount,
        refunded_total=refunded_total,
        paid=paid,
        credit_ids=[c.id for c in credits],
        prior_status=tx.status,
        source=source,
        note=note,
    )
    db.session.add(attempt)
    db.session.flush()
    return Reserved(attempt.id, tx.id, tx.provider_payment_id, amount, refunded_total, source)


def _open_attempt(transaction_id: uuid.UUID) -> bool:
    """Whether a refund of the transaction is being asked or its outcome is unknown
    (the caller holds the transaction's lock, so no other can start meanwhile)."""
    return (
        db.session.scalar(
            select(RefundAttempt.id)
            .where(
                RefundAttempt.transaction_id == transaction_id,
                RefundAttempt.state.in_([AttemptState.ASKING, AttemptState.UNKNOWN]),
            )
            .limit(1)
        )
        is not None
    )


def run(reserved: Reserved) -> Refunded:
    """Ask Kaspi for the reserved refund and record what it answered (steps of its own)."""
    between_steps()
    provider = get_provider()
    operation_id = None
    try:
        operation_id = provider.refund(reserved.payment_id, reserved.amount)
    except RefundOutcomeUnknown as exc:
        with step():
            _hold_unknown(reserved.attempt_id, str(exc))
        raise RefundHeld(
            f"no answer from Kaspi to the refund ({exc}); the transaction is held for review "
            f"as {REFUND_UNKNOWN} and Kaspi will be asked again until the outcome is known"
        ) from exc
    except ProviderError as exc:
        # Someone returned it at Kaspi meanwhile (by hand, in Kaspi's own console):
        # then this refusal (an over-refund) still means the money is back.
        if not _returned_meanwhile(provider, reserved):
            with step():
                _undo(reserved.attempt_id, exc)
            if isinstance(exc, ProviderRejected):
                raise RefundRefused(f"the provider did not refund: {exc}") from exc
            raise Unavailable(
                "PROVIDER_UNAVAILABLE", f"the provider did not refund: {exc}", retry_after_s=5
            ) from exc
    with step():
        return record(reserved.attempt_id, operation_id, source=reserved.source)


def _returned_meanwhile(provider: PaymentProvider, reserved: Reserved) -> bool:
    try:
        refunded = provider.get_status(reserved.payment_id).refunded_amount
    except ProviderError:
        return False
    return refunded is not None and refunded >= reserved.refunded_total


def _locked_attempt(attempt_id: int) -> tuple[Transaction, RefundAttempt]:
    """The attempt's transaction (locked first, the lock order) and the attempt."""
    transaction_id = db.session.get_one(RefundAttempt, attempt_id).transaction_id
    tx = locks.lock_transaction(transaction_id)
    attempt = locks.lock_refund_attempt(attempt_id)
    if tx is None or attempt is None:  # a foreign key keeps both; never expected
        raise RefundRefused("no such transaction")
    return tx, attempt


def record(attempt_id: int, operation_id: str | None, *, source: Source) -> Refunded:
    """Kaspi returned the money: the refund row, the refunded total, the status."""
    tx, attempt = _locked_attempt(attempt_id)
    if attempt.state == AttemptState.DONE:  # a concurrent run recorded it first
        return _refunded(tx, attempt)
    now = datetime.now(UTC)
    closes = attempt.kind != RefundKind.UNUSED or attempt.refunded_total >= tx.amount
    # Lock order: the club's subscription (taking its period back) before credits.
    period_taken = closes and attempt.kind == RefundKind.FULL and take_back_period(tx.id, now)
    revoked = _revoke_again(tx, attempt, now)
    move_attempt(attempt, AttemptState.DONE, now=now)
    tx.refunded_amount = attempt.refunded_total
    db.session.add(
        TransactionRefund(
            transaction_id=tx.id,
            amount=attempt.amount,
            currency=tx.currency,
            provider_operation_id=operation_id,
            credits_revoked=revoked,
            source=attempt.source,
            note=attempt.note,
        )
    )
    if closes:
        _close_refunded(tx, attempt, revoked, period_taken, source, now)
    elif tx.status == TxStatus.NEEDS_REVIEW:  # a partial refund found done on re-check
        transition(tx, TxStatus.COMPLETED, source=source, note="the unused share's refund is done")
    refund_done(tx, attempt.amount, now=now)
    return _refunded(tx, attempt)


def _revoke_again(tx: Transaction, attempt: RefundAttempt, now: datetime) -> int:
    """Revoke under the lock once more: a concurrent run's failure may have given this
    refund's credits back after it revoked them. Answers how many it returned."""
    wanted = set(attempt.credit_ids)
    revoked = 0
    for credit in locks.lock_credits_of_transaction(tx.id):
        if credit.id not in wanted:
            continue
        if credit.status == CreditStatus.AVAILABLE:
            move_credit(credit, CreditStatus.REVOKED, now=now)
        revoked += credit.status == CreditStatus.REVOKED
    return revoked


def _close_refunded(
    tx: Transaction,
    attempt: RefundAttempt,
    revoked: int,
    period_taken: bool,
    source: Source,
    now: datetime,
) -> None:
    if tx.status == TxStatus.REFUNDED:
        return
    note = {
        RefundKind.FULL: f"refunded; {revoked} unused credit(s) revoked",
        RefundKind.UNUSED: f"fully refunded; last {revoked} unused credit(s) revoked",
        RefundKind.LATE: f"late payment after {attempt.prior_status}; refunded by policy",
        RefundKind.REVIEW: f"resolved by an operator: refund; {attempt.note}",
    }[RefundKind(attempt.kind)]
    if period_taken:
        note += "; the subscription period it bought was taken back"
    transition(
        tx,
        TxStatus.REFUNDED,
        source=source,
        provider_status="Returned",
        note=note,
        now=now,
        amount=tx.amount,
        provider_amount=attempt.paid,
    )


def take_back_period(transaction_id: uuid.UUID, now: datetime) -> bool:
    """A refunded plan purchase: the period it bought ends that much earlier.
    Lock order: transactions → clubs → club_subscriptions → billing_credits."""
    grant = db.session.scalar(
        select(SubscriptionGrant).where(SubscriptionGrant.source_transaction_id == transaction_id)
    )
    return grant is not None and subscriptions.take_back_period(grant, now)


def _refunded(tx: Transaction, attempt: RefundAttempt) -> Refunded:
    return Refunded(tx.id, tx.status, attempt.amount, len(attempt.credit_ids), tx.refunded_amount)


def _undo(attempt_id: int, exc: ProviderError) -> None:
    """Nothing was returned: give the credits back; a late payment Kaspi refuses to
    return is held for review (money received must end completed or refunded)."""
    tx, attempt = _locked_attempt(attempt_id)
    move_attempt(attempt, AttemptState.FAILED, now=datetime.now(UTC))
    attempt.error = str(exc)
    _restore(list(attempt.credit_ids))
    if attempt.kind == RefundKind.LATE and isinstance(exc, ProviderRejected):
        _hold(tx, attempt, f"late payment; Kaspi refused the refund: {exc}")


def _hold(tx: Transaction, attempt: RefundAttempt, note: str) -> None:
    """Hold the refund's transaction for an operator, both amounts audited."""
    if tx.status != TxStatus.NEEDS_REVIEW:
        transition(
            tx,
            TxStatus.NEEDS_REVIEW,
            source=Source(attempt.source),
            note=note,
            amount=tx.amount,
            provider_amount=attempt.paid,
        )


def _restore(credit_ids: list[uuid.UUID]) -> None:
    restore_credits(credit_ids, now=datetime.now(UTC))


def _hold_unknown(attempt_id: int, error: str) -> None:
    tx, attempt = _locked_attempt(attempt_id)
    move_attempt(attempt, AttemptState.UNKNOWN, now=datetime.now(UTC))
    attempt.error = error
    _hold(tx, attempt, f"{REFUND_UNKNOWN}: no answer from Kaspi to a refund of {attempt.amount}")
    log.error("refund of %s for transaction %s: outcome unknown (%s)", attempt.amount, tx.id, error)


# -- refunds whose outcome is unknown --------------------------------------------------


def unknown_attempts(now: datetime, limit: int = 100) -> list[int]:
    """Refund attempts Kaspi never answered, least recently asked first: those held as
    unknown, and those whose process died while asking (older than
    :data:`ASKING_GIVEN_UP`)."""
    return list(
        db.session.scalars(
            select(RefundAttempt.id)
            .where(
                (RefundAttempt.state == AttemptState.UNKNOWN)
                | (
                    (RefundAttempt.state == AttemptState.ASKING)
                    & (RefundAttempt.created_at < now - ASKING_GIVEN_UP)
                )
            )
            .order_by(RefundAttempt.checked_at.nulls_first(), RefundAttempt.id)
            .limit(limit)
        )
    )


def recheck_unknown(attempt_id: int) -> AttemptState:
    """Ask Kaspi whether an unanswered refund happened, and settle the attempt by it.

    Kaspi's refunded total for the payment tells: at least the attempt's total →
    the refund is recorded as done; less → it never happened: the credits come
    back and the transaction returns to where it was. Kaspi silent → still unknown.
    """
    with step():
        attempt = db.session.get(RefundAttempt, attempt_id)
        if attempt is None or attempt.state not in OPEN:
            return AttemptState(attempt.state) if attempt else AttemptState.DONE
        tx = db.session.get_one(Transaction, attempt.transaction_id)
        payment_id, total = tx.provider_payment_id, attempt.refunded_total
        tx_id, origin_request_id = tx.id, tx.origin_request_id
    with transaction_log_context(tx_id, origin_request_id):
        return _recheck(attempt_id, str(payment_id), total)


def _recheck(attempt_id: int, payment_id: str, total: Decimal) -> AttemptState:
    between_steps()
    try:
        refunded = get_provider().get_status(payment_id).refunded_amount or Decimal("0")
    except ProviderError as exc:
        log.warning("refund attempt %s: Kaspi still silent (%s)", attempt_id, exc)
        with step():
            db.session.get_one(RefundAttempt, attempt_id).checked_at = datetime.now(UTC)
        return AttemptState.UNKNOWN
    with step():
        tx, attempt = _locked_attempt(attempt_id)
        if attempt.state not in OPEN:  # another re-check settled it first
            return AttemptState(attempt.state)
        held = attempt.state == AttemptState.UNKNOWN
        if held and tx.status != TxStatus.NEEDS_REVIEW:
            # An operator resolved the hold meanwhile, reading Kaspi's own figures:
            # the attempt only records what happened.
            known = AttemptState.DONE if refunded >= total else AttemptState.FAILED
            move_attempt(attempt, known, now=datetime.now(UTC))
            return known
        if refunded >= total:
            record(attempt_id, None, source=Source.RECHECK)
            return AttemptState.DONE
        _not_refunded(attempt_id, refunded)
        return AttemptState.FAILED


def _not_refunded(attempt_id: int, refunded: Decimal) -> None:
    tx, attempt = _locked_attempt(attempt_id)
    if attempt.state not in OPEN:
        return
    move_attempt(attempt, AttemptState.FAILED, now=datetime.now(UTC))
    attempt.error = f"Kaspi reports {refunded} refunded; this refund did not happen"
    _restore(list(attempt.credit_ids))
    back = TxStatus(attempt.prior_status)
    if tx.status == TxStatus.NEEDS_REVIEW and back == TxStatus.COMPLETED:
        transition(
            tx,
            TxStatus.COMPLETED,
            source=Source.RECHECK,
            note=f"{REFUND_UNKNOWN} resolved: Kaspi made no refund; the purchase stands",
        )
    # A late or held payment stays in review: an operator decides what to do with it.
