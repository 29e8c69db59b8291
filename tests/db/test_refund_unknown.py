"""A refund whose answer Kaspi never gives is held for review as refund_unknown and
re-asked at Kaspi until its outcome is known (the real stub over HTTP, its faults
making the answer late or the call fail after it hung)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from app.billing.core.models import RefundAttempt, Transaction, TransactionEvent, TransactionRefund
from app.billing.core.status import AttemptState
from app.billing.kaspi.client import KaspiClient
from app.billing.operator import refunds, review
from app.billing.refund import sequence
from app.billing.refund.sequence import RefundHeld, RefundRefused
from app.billing.settle import reconcile
from tests.conftest import KASPI_KEY
from tests.support.processes import wait_until
from tests.support.purchases import credits_of, intent
from tests.support.stub_server import confirm_payment, reset_faults, set_faults

pytestmark = pytest.mark.db

# The db tier's Kaspi budget for a refund is 2 s (KASPI_TIMEOUT_S): an answer later
# than this is lost to the caller.
LATE_MS = 3000


@pytest.fixture
def faults(kaspi_stub):
    yield lambda **fault: set_faults(kaspi_stub, **fault)
    reset_faults(kaspi_stub)


def paid(client, db_session, kaspi_stub, quantity: int = 2):
    tx_id, payment_id = intent(client, quantity=quantity)
    confirm_payment(kaspi_stub, payment_id)
    assert reconcile.reconcile(tx_id) == "completed"
    db_session.commit()
    return tx_id, payment_id


def refunded_at_kaspi(kaspi_stub, payment_id) -> Decimal:
    return KaspiClient(kaspi_stub, KASPI_KEY).get_status(payment_id).refunded_amount or Decimal(0)


def wait_for_the_late_refund(kaspi_stub, payment_id, amount: Decimal) -> None:
    """The stub finishes a refund it answers late: wait until Kaspi shows it."""
    wait_until(
        lambda: refunded_at_kaspi(kaspi_stub, payment_id) == amount,
        timeout=10,
        message="the stub finishes the refund it answered late",
    )


def attempts_of(db_session, tx_id) -> list[RefundAttempt]:
    return list(
        db_session.scalars(
            select(RefundAttempt)
            .where(RefundAttempt.transaction_id == tx_id)
            .order_by(RefundAttempt.id)
        )
    )


def last_event(db_session, tx_id) -> TransactionEvent:
    return db_session.scalars(
        select(TransactionEvent)
        .where(TransactionEvent.transaction_id == tx_id)
        .order_by(TransactionEvent.id.desc())
        .limit(1)
    ).one()


@dataclass(frozen=True)
class Held:
    id: int
    amount: Decimal


def hold_a_lost_refund(db_session, kaspi_stub, faults, tx_id, *, unused: bool = False):
    """A refund whose answer comes after the caller gave up: held, credits kept revoked."""
    faults(latency_ms=LATE_MS)  # the stub refunds, then answers too late
    with pytest.raises(RefundHeld, match="refund_unknown"):
        (refunds.refund_unused if unused else refunds.refund)(tx_id)
    reset_faults(kaspi_stub)
    db_session.expire_all()
    (attempt,) = attempts_of(db_session, tx_id)
    assert attempt.state == AttemptState.UNKNOWN
    assert db_session.get(Transaction, tx_id).status == "needs_review"
    assert last_event(db_session, tx_id).note.startswith("refund_unknown")
    held = Held(attempt.id, attempt.amount)
    db_session.commit()
    return held


def attempts_counted(state: str) -> float:
    value = REGISTRY.get_sample_value(
        "billing_refund_attempts_total", {"kind": "full", "state": state}
    )
    return value or 0.0


def test_a_lost_refund_that_kaspi_made_is_held_then_recorded(
    client, db_session, kaspi_stub, faults
):
    tx_id, payment_id = paid(client, db_session, kaspi_stub)
    unknown, done = attempts_counted("unknown"), attempts_counted("done")
    attempt = hold_a_lost_refund(db_session, kaspi_stub, faults, tx_id)
    assert attempts_counted("unknown") == unknown + 1
    assert [c.status for c in credits_of(db_session, tx_id)] == ["revoked", "revoked"]
    # It waits in the review queue with its reason, and in the re-check's queue.
    (item,) = [i for i in review.queue() if i.transaction_id == tx_id]
    assert item.reason.startswith("refund_unknown")
    assert attempt.id in sequence.unknown_attempts(datetime.now(UTC))
    db_session.commit()
    # Kaspi did return the money (its answer was only late).
    wait_for_the_late_refund(kaspi_stub, payment_id, Decimal("2000.00"))

    db_session.commit()
    assert sequence.recheck_unknown(attempt.id) == AttemptState.DONE

    db_session.expire_all()
    tx = db_session.get(Transaction, tx_id)
    assert (tx.status, tx.refunded_amount) == ("refunded", Decimal("2000.00"))
    event = last_event(db_session, tx_id)
    assert (event.from_status, event.to_status, event.source) == (
        "needs_review",
        "refunded",
        "recheck",
    )
    rows = db_session.scalars(
        select(TransactionRefund).where(TransactionRefund.transaction_id == tx_id)
    ).all()
    assert [(r.amount, r.credits_revoked) for r in rows] == [(Decimal("2000.00"), 2)]
    assert refunded_at_kaspi(kaspi_stub, payment_id) == Decimal("2000.00")  # sent once
    assert attempt.id not in sequence.unknown_attempts(datetime.now(UTC))
    assert attempts_counted("done") == done + 1


def test_a_lost_refund_that_kaspi_never_made_gives_the_purchase_back(
    client, db_session, kaspi_stub, faults
):
    tx_id, payment_id = paid(client, db_session, kaspi_stub)
    faults(timeout_ms=LATE_MS)  # the call hangs past the budget and does nothing
    with pytest.raises(RefundHeld):
        refunds.refund(tx_id)
    reset_faults(kaspi_stub)
    db_session.expire_all()
    (attempt,) = attempts_of(db_session, tx_id)
    assert attempt.state == AttemptState.UNKNOWN
    attempt_id = attempt.id

    db_session.commit()
    assert sequence.recheck_unknown(attempt_id) == AttemptState.FAILED

    db_session.expire_all()
    tx = db_session.get(Transaction, tx_id)
    assert (tx.status, tx.refunded_amount) == ("completed", Decimal("0.00"))
    assert [c.status for c in credits_of(db_session, tx_id)] == ["available", "available"]
    event = last_event(db_session, tx_id)
    assert (event.to_status, event.source) == ("completed", "recheck")
    assert refunded_at_kaspi(kaspi_stub, payment_id) == Decimal("0")
    # The purchase can be refunded again, now that the first attempt's outcome is known.
    db_session.commit()
    assert refunds.refund(tx_id).status == "refunded"


def test_a_lost_unused_share_refund_found_done_leaves_the_purchase_completed(
    client, db_session, kaspi_stub, faults
):
    tx_id, payment_id = paid(client, db_session, kaspi_stub, quantity=2)
    attempt = hold_a_lost_refund(db_session, kaspi_stub, faults, tx_id, unused=True)
    wait_for_the_late_refund(kaspi_stub, payment_id, attempt.amount)

    db_session.commit()
    assert sequence.recheck_unknown(attempt.id) == AttemptState.DONE

    db_session.expire_all()
    tx = db_session.get(Transaction, tx_id)
    assert tx.status == "refunded" and tx.refunded_amount == tx.amount  # all of it was unused


def test_kaspi_silent_on_the_recheck_keeps_the_hold(client, db_session, kaspi_stub, faults):
    tx_id, _ = paid(client, db_session, kaspi_stub)
    attempt = hold_a_lost_refund(db_session, kaspi_stub, faults, tx_id)
    faults(fail_next=1000)  # Kaspi down while it is re-asked

    db_session.commit()
    assert sequence.recheck_unknown(attempt.id) == AttemptState.UNKNOWN

    db_session.expire_all()
    assert db_session.get(Transaction, tx_id).status == "needs_review"
    assert db_session.get(RefundAttempt, attempt.id).checked_at is not None


def test_no_second_refund_while_one_is_unknown(client, db_session, kaspi_stub, faults):
    tx_id, payment_id = paid(client, db_session, kaspi_stub)
    hold_a_lost_refund(db_session, kaspi_stub, faults, tx_id)
    db_session.commit()
    with pytest.raises(RefundRefused):
        refunds.refund(tx_id)  # held: not completed, and its refund is still open
    db_session.rollback()
    wait_for_the_late_refund(kaspi_stub, payment_id, Decimal("2000.00"))
    assert refunded_at_kaspi(kaspi_stub, payment_id) == Decimal("2000.00")  # never twice
