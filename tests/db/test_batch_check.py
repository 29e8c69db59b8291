"""Settlement in batches: lease at claim time, concurrent checks, one step per settle."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from app.billing import batch_check
from app.billing.models import Credit, Transaction, TransactionEvent
from app.db import step
from tests.support import purchases
from tests.support.stub_server import confirm_payment, fail_payment

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
        batches = batch_check.claim_batches(datetime.now(UTC))
    claimed = [tx_id for batch in batches for tx_id in batch]
    assert sorted(claimed) == sorted(ids)
    with step():  # leased: a second sweep while the batch is queued claims nothing
        assert batch_check.claim_batches(datetime.now(UTC)) == []

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
            batches = batch_check.claim_batches(datetime.now(UTC))
    finally:
        app.config["CHECK_BATCH_SIZE"] = configured
    assert [len(batch) for batch in batches] == [2, 2, 1]
    db_session.expire_all()
    leased = db_session.scalars(select(Transaction.next_poll_at).where(Transaction.id.in_(ids)))
    lease = timedelta(seconds=app.config["POLL_CLAIM_LEASE_S"])
    assert all(at >= datetime.now(UTC) + lease - timedelta(seconds=5) for at in leased)


def test_an_unknown_id_in_a_batch_is_counted_not_fatal(client, db_session):
    assert batch_check.check_batch([uuid.uuid4()]) == {"not_found": 1}
