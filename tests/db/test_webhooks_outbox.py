"""The outbox: every money fact is written with its cause, in its transaction, with a
sequence per ordering key (real PostgreSQL, the real Kaspi stub over HTTP)."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text

from app.billing.settle import batch_check, reconcile
from app.db import step
from app.extensions import db
from app.webhooks import outbox
from app.webhooks.catalogue import EventType
from app.webhooks.models import OutboxEvent, WebhookDelivery, WebhookEndpoint
from tests.support.factories import make_user
from tests.support.purchases import intent
from tests.support.stub_server import confirm_payment

pytestmark = pytest.mark.db


@dataclass(frozen=True)
class Told:
    type: str
    sequence: int
    data: dict


def events_of(key: str) -> list[Told]:
    """The key's events in order; the read ends its transaction, as a request's would."""
    rows = db.session.scalars(
        select(OutboxEvent).where(OutboxEvent.ordering_key == key).order_by(OutboxEvent.sequence)
    )
    told = [Told(e.type, e.sequence, e.data) for e in rows]
    db.session.rollback()
    return told


def test_a_fact_is_written_with_its_transaction_and_not_without_it(db_session):
    key = f"user:{uuid.uuid4()}"

    def failing_cause() -> None:
        with step():
            outbox.emit(EventType.CREDIT_GRANTED, key, {"n": 1})
            raise RuntimeError("the cause fails")

    with pytest.raises(RuntimeError):
        failing_cause()
    assert events_of(key) == []
    with step():
        outbox.emit(EventType.CREDIT_GRANTED, key, {"n": 1})
        outbox.emit(EventType.CREDIT_CONSUMED, key, {"n": 2})
    with step():
        outbox.emit(EventType.CREDIT_REVOKED, key, {"n": 3})
    assert [(e.type, e.sequence, e.data["n"]) for e in events_of(key)] == [
        ("credit.granted", 1, 1),
        ("credit.consumed", 2, 2),
        ("credit.revoked", 3, 3),
    ]


def test_deliveries_are_queued_for_every_endpoint_subscribed_to_the_type(db_session):
    """A disabled endpoint's deliveries are queued too: they wait, in order, for it."""
    everything = WebhookEndpoint(id=f"ep_{uuid.uuid4().hex}", url="http://a.test/", secret="s")
    some = WebhookEndpoint(
        id=f"ep_{uuid.uuid4().hex}",
        url="http://b.test/",
        secret="s",
        event_types=["credit.consumed"],
    )
    off = WebhookEndpoint(
        id=f"ep_{uuid.uuid4().hex}", url="http://c.test/", secret="s", disabled_at=datetime.now(UTC)
    )
    db.session.add_all([everything, some, off])
    db.session.commit()
    key = f"user:{uuid.uuid4()}"
    with step():
        outbox.emit(EventType.CREDIT_GRANTED, key, {})
        outbox.emit(EventType.CREDIT_CONSUMED, key, {})
    rows = db.session.execute(
        select(WebhookDelivery.endpoint_id, WebhookDelivery.sequence)
        .where(WebhookDelivery.ordering_key == key)
        .order_by(WebhookDelivery.endpoint_id, WebhookDelivery.sequence)
    ).all()
    assert sorted(rows) == sorted(
        [(everything.id, 1), (everything.id, 2), (some.id, 2), (off.id, 1), (off.id, 2)]
    )


def test_a_paid_purchase_tells_completed_and_granted_on_either_settle_path(
    client, db_session, kaspi_stub
):
    """The one-statement completion (the batch's) and the locked ORM path (a single
    check) write the same two events with the same data fields."""
    user = make_user()
    db_session.commit()
    found = []
    paths = [
        lambda tx_id: batch_check.check_batch([tx_id]),  # the one-statement completion
        reconcile.reconcile,  # the locked ORM path
    ]
    for settle in paths:
        tx_id, payment_id = intent(client, user=user.id, quantity=2)
        confirm_payment(kaspi_stub, payment_id)
        settle(tx_id)
        db_session.commit()
        [completed] = events_of(f"transaction:{tx_id}")
        assert completed.type == "transaction.completed"
        assert completed.data["transaction_id"] == str(tx_id)
        assert completed.data["user_id"] == user.id and completed.data["status"] == "completed"
        found.append(completed)
    granted = events_of(f"user:{user.id}")
    assert [(g.type, g.sequence, g.data["quantity"]) for g in granted] == [
        ("credit.granted", 1, 2),
        ("credit.granted", 2, 2),
    ]
    assert {tuple(sorted(g.data)) for g in granted} == {
        ("credit_code", "credit_ids", "quantity", "reason", "transaction_id", "user_id")
    }
    # The grant's credits are the ones the purchase made, listed once each.
    assert all(len(set(g.data["credit_ids"])) == 2 for g in granted)
    assert {tuple(sorted(c.data)) for c in found} == {
        (
            "amount",
            "club_id",
            "currency",
            "product_code",
            "quantity",
            "status",
            "transaction_id",
            "user_id",
        )
    }


def test_concurrent_writers_of_one_key_get_consecutive_sequences_in_commit_order(app):
    """Eight threads, each its own connection and COMMIT, race on one ordering key:
    sequences 1..8, without a gap or a repeat, and no deadlock."""
    key = f"user:race-{uuid.uuid4()}"
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            with app.app_context():
                barrier.wait()
                with step():
                    outbox.emit(EventType.CREDIT_GRANTED, key, {"n": n})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    try:
        assert errors == []
        with app.app_context():
            rows = db.session.execute(
                text(
                    "SELECT sequence FROM outbox_events WHERE ordering_key = :key ORDER BY sequence"
                ),
                {"key": key},
            ).all()
            db.session.rollback()
        assert [row.sequence for row in rows] == list(range(1, 9))
    finally:
        with app.app_context():
            db.session.execute(
                text("DELETE FROM outbox_events WHERE ordering_key = :k"), {"k": key}
            )
            db.session.execute(
                text("DELETE FROM outbox_sequences WHERE ordering_key = :k"), {"k": key}
            )
            db.session.commit()
