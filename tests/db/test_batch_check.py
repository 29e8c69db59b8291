"""Settlement in batches: lease at claim time, concurrent checks, one step per settle."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select, update

from app.billing.core.models import Credit, Transaction, TransactionEvent
from app.billing.core.status import Source, TxStatus
from app.billing.settle import batch_check, schedule, settlement
from app.catalog import services as catalog_services
from app.db import step
from tests.support import purchases
from tests.support.statements import recording
from tests.support.stub_server import (
    confirm_payment,
    expire_payment,
    fail_payment,
    reset_faults,
    set_faults,
)

pytestmark = pytest.mark.db


def intent(client):
    return purchases.intent(client, "batch-buyer", quantity=1)


def make_due(db_session, ids):
    db_session.execute(
        update(Transaction)
        .where(Transaction.id.in_(ids))
        .values(next_poll_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    db_session.commit()


def test_a_batch_settles_paid_fails_declined_and_reschedules_waiting(
    client, db_session, kaspi_stub
):
    paid, failed, waiting = intent(client), intent(client), intent(client)
    confirm_payment(kaspi_stub, paid[1])
    fail_payment(kaspi_stub, failed[1])
    ids = [paid[0], failed[0], waiting[0]]
    make_due(db_session, ids)

    with step():
        batches = schedule.claim_batches(datetime.now(UTC))
    claimed = [tx_id for batch in batches for tx_id in batch]
    assert sorted(claimed) == sorted(ids)
    with step():  # leased: a second sweep while the batch is queued claims nothing
        assert schedule.claim_batches(datetime.now(UTC)) == []

    before = datetime.now(UTC)
    outcomes = batch_check.check_batch(claimed)
    assert outcomes == {"completed": 1, "failed": 1, "waiting": 1}
    db_session.expire_all()
    statuses = dict(db_session.execute(select(Transaction.id, Transaction.status)).all())
    assert (statuses[paid[0]], statuses[failed[0]], statuses[waiting[0]]) == (
        "completed",
        "failed",
        "pending",
    )
    still = db_session.get(Transaction, waiting[0])
    # Never sooner than Kaspi's polling interval after this check.
    assert still.next_poll_at >= before + timedelta(seconds=still.poll_interval_s)
    assert still.poll_attempts == 1
    credits = db_session.scalar(
        select(func.count()).select_from(Credit).where(Credit.source_transaction_id == paid[0])
    )
    assert credits == 1

    # Redelivered (a worker died after settling): nothing more is granted or audited.
    db_session.commit()
    assert batch_check.check_batch(claimed) == {"not_pending": 2, "waiting": 1}
    completions = db_session.scalar(
        select(func.count())
        .select_from(TransactionEvent)
        .where(
            TransactionEvent.transaction_id == paid[0], TransactionEvent.to_status == "completed"
        )
    )
    assert completions == 1


def test_claims_are_split_into_batches_of_the_configured_size(client, db_session, app):
    ids = [intent(client)[0] for _ in range(5)]
    make_due(db_session, ids)
    configured = app.config["CHECK_BATCH_SIZE"]
    app.config["CHECK_BATCH_SIZE"] = 2
    try:
        with step():
            batches = schedule.claim_batches(datetime.now(UTC))
    finally:
        app.config["CHECK_BATCH_SIZE"] = configured
    assert [len(batch) for batch in batches] == [2, 2, 1]
    db_session.expire_all()
    leased = db_session.scalars(select(Transaction.next_poll_at).where(Transaction.id.in_(ids)))
    lease = timedelta(seconds=app.config["POLL_CLAIM_LEASE_S"])
    assert all(at >= datetime.now(UTC) + lease - timedelta(seconds=5) for at in leased)


def test_an_unknown_id_in_a_batch_is_counted_not_fatal(client, db_session):
    assert batch_check.check_batch([uuid.uuid4()]) == {"not_found": 1}


def completions_counted() -> float:
    labels = {"from_status": "pending", "to_status": "completed", "source": "worker"}
    return REGISTRY.get_sample_value("billing_transaction_transitions_total", labels) or 0.0


def test_a_paid_credit_purchase_settles_in_one_statement(client, db_session, kaspi_stub):
    tx_id, payment_id = purchases.intent(client, "batch-buyer", quantity=3)
    confirm_payment(kaspi_stub, payment_id)
    make_due(db_session, [tx_id])
    with step():
        (batch,) = schedule.claim_batches(datetime.now(UTC))
    counted = completions_counted()

    with recording() as sql:
        assert batch_check.check_batch(batch) == {"completed": 1}

    # The batch's read, then one statement: no row lock of its own, no ORM flush.
    writes = [s for s in sql.statements if not s.startswith("SELECT")]
    assert len(writes) == 1, writes
    assert all(f"INSERT INTO {t}" in writes[0] for t in ("transaction_events", "billing_credits"))
    assert not any("FOR UPDATE" in s for s in sql.statements)
    db_session.expire_all()
    tx = db_session.get(Transaction, tx_id)
    assert tx.status == "completed" and tx.settled_at is not None and tx.next_poll_at is None
    credits = db_session.scalars(
        select(Credit.sequence).where(Credit.source_transaction_id == tx_id)
    ).all()
    assert sorted(credits) == [1, 2, 3]
    (event,) = db_session.scalars(
        select(TransactionEvent).where(
            TransactionEvent.transaction_id == tx_id, TransactionEvent.to_status == "completed"
        )
    ).all()
    assert (event.from_status, event.source, event.provider_status) == (
        "pending",
        "worker",
        "Processed",
    )
    assert event.amount == event.provider_amount == tx.amount
    assert completions_counted() == counted + 1


def test_a_row_closed_after_the_batch_read_it_is_not_settled_by_the_statement(
    client, db_session, kaspi_stub, monkeypatch
):
    """The buyer's cancel commits between the batch's read and its settle: the
    statement's UPDATE finds no pending row, changes nothing, and the locked path
    reports the paid-but-closed conflict for the late-payment sweep."""
    tx_id, payment_id = purchases.intent(client, "batch-buyer", quantity=2)
    confirm_payment(kaspi_stub, payment_id)
    make_due(db_session, [tx_id])
    with step():
        (batch,) = schedule.claim_batches(datetime.now(UTC))

    ask_all = batch_check._ask_all

    def answers_then_a_cancel(payment_ids):
        answers = ask_all(payment_ids)
        with step():  # the competing write, at exactly this point
            settlement.settle(tx_id, TxStatus.CANCELED, source=Source.API)
        return answers

    monkeypatch.setattr(batch_check, "_ask_all", answers_then_a_cancel)
    counted = completions_counted()
    assert batch_check.check_batch(batch) == {"conflict": 1}
    db_session.expire_all()
    assert db_session.get(Transaction, tx_id).status == "canceled"
    granted = db_session.scalar(
        select(func.count()).select_from(Credit).where(Credit.source_transaction_id == tx_id)
    )
    assert granted == 0
    assert completions_counted() == counted


def test_a_paid_answer_for_another_amount_is_held_for_review_by_a_batch(
    client, db_session, kaspi_stub
):
    tx_id, payment_id = purchases.intent(client, "batch-buyer", quantity=1)
    confirm_payment(kaspi_stub, payment_id, amount="1.00")
    make_due(db_session, [tx_id])
    with step():
        (batch,) = schedule.claim_batches(datetime.now(UTC))
    assert batch_check.check_batch(batch) == {"needs_review": 1}
    db_session.expire_all()
    assert db_session.get(Transaction, tx_id).status == "needs_review"
    granted = db_session.scalar(
        select(func.count()).select_from(Credit).where(Credit.source_transaction_id == tx_id)
    )
    assert granted == 0


def test_a_worker_with_a_cold_catalog_cache_settles_a_batch(
    client, db_session, kaspi_stub, monkeypatch
):
    """A fresh worker process reads the catalog on its first settle, beside the
    statement: that read must not be left open across the rest of the batch."""
    first, second = intent(client), intent(client)
    for _, payment_id in (first, second):
        confirm_payment(kaspi_stub, payment_id)
    make_due(db_session, [first[0], second[0]])
    with step():
        (batch,) = schedule.claim_batches(datetime.now(UTC))
    monkeypatch.setattr(catalog_services, "_cache", {})
    assert batch_check.check_batch(batch) == {"completed": 2}
    assert catalog_services._cache  # the first settle loaded the snapshot


def test_a_payment_still_open_is_rescheduled_by_one_statement(client, db_session, kaspi_stub):
    """The usual answer until the buyer pays: one UPDATE, no row lock, no audit entry."""
    tx_id, _ = intent(client)
    make_due(db_session, [tx_id])
    with step():
        (batch,) = schedule.claim_batches(datetime.now(UTC))
    before = datetime.now(UTC)
    with recording() as sql:
        assert batch_check.check_batch(batch) == {"waiting": 1}
    writes = [s for s in sql.statements if not s.startswith("SELECT")]
    assert len(writes) == 1 and writes[0].startswith("UPDATE transactions"), writes
    assert not any("FOR UPDATE" in s for s in sql.statements)
    db_session.expire_all()
    tx = db_session.get(Transaction, tx_id)
    assert tx.status == "pending"
    assert tx.next_poll_at >= before + timedelta(seconds=tx.poll_interval_s)
    events = db_session.scalar(
        select(func.count())
        .select_from(TransactionEvent)
        .where(TransactionEvent.transaction_id == tx_id)
    )
    assert events == 1  # its creation only


def test_kaspi_silent_reschedules_the_batch_by_one_statement_each(client, db_session, kaspi_stub):
    ids = [intent(client)[0] for _ in range(2)]
    make_due(db_session, ids)
    with step():
        (batch,) = schedule.claim_batches(datetime.now(UTC))
    set_faults(kaspi_stub, error_rate=1.0)
    try:
        with recording() as sql:
            assert batch_check.check_batch(batch) == {"unavailable": 2}
    finally:
        reset_faults(kaspi_stub)
    writes = [s for s in sql.statements if not s.startswith("SELECT")]
    assert len(writes) == 2 and all(s.startswith("UPDATE transactions") for s in writes)
    db_session.expire_all()
    assert all(db_session.get(Transaction, tx_id).next_poll_at > datetime.now(UTC) for tx_id in ids)


def test_a_payment_kaspi_closed_expires_through_the_locked_path(client, db_session, kaspi_stub):
    """Kaspi moved the ExpireDate to now: the batch's stored expiry says open, the
    answer says closed, so the locked path expires the transaction."""
    tx_id, payment_id = intent(client)
    expire_payment(kaspi_stub, payment_id)
    make_due(db_session, [tx_id])
    with step():
        (batch,) = schedule.claim_batches(datetime.now(UTC))
    assert batch_check.check_batch(batch) == {"expired": 1}
    db_session.expire_all()
    assert db_session.get(Transaction, tx_id).status == "expired"
