"""A purchase intent whose database connection dies after Kaspi made its payment
(PgBouncer restarted between the steps) answers 503 and leaves nothing behind: the
payment is voided at Kaspi (the stub, over HTTP) and the pending row closed, so the
buyer's retry is not refused with 409 and no link can take money unknown to us.

The cut is injected at the exact point: the statement that stores the link raises
the error psycopg raises when the server closes the connection."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from decimal import Decimal

import psycopg
import pytest
import requests
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select

from app.billing.core.models import IdempotencyRecord, Transaction, TransactionEvent
from app.billing.kaspi.client import KaspiClient
from app.billing.purchase import intents, withdraw
from app.billing.tasks import withdraw_intent
from tests.conftest import KASPI_KEY, auth
from tests.support.stub_server import reset_faults

pytestmark = pytest.mark.db


@pytest.fixture(autouse=True)
def _clean_faults(kaspi_stub):
    reset_faults(kaspi_stub)


def connection_lost(*_args, **_kwargs):
    raise sa_exc.OperationalError(
        "UPDATE transactions SET provider_payment_id=...",
        {},
        psycopg.OperationalError("server closed the connection unexpectedly"),
    )


def draft(client, user="buyer") -> str:
    response = client.post(
        "/api/events", json={"title": "Big night", "max_participants": 200}, headers=auth(user)
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def buy(client, event_id, key=None):
    headers = auth("buyer")
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(
        "/api/billing/purchase-intent",
        json={"product_code": "EVENT_UPGRADE_500", "event_id": event_id},
        headers=headers,
    )


@pytest.fixture
def payments(monkeypatch) -> list[str]:
    """The Kaspi payments the intents made, as Kaspi numbered them."""
    made: list[str] = []
    real = KaspiClient.create_payment

    def create(self, external_id, amount):
        payment = real(self, external_id, amount)
        made.append(str(payment.payment_id))
        return payment

    monkeypatch.setattr(KaspiClient, "create_payment", create)
    return made


def kaspi_status(kaspi_stub, payment_id) -> str:
    response = requests.get(
        f"{kaspi_stub}/r3/v01/payment/status/{payment_id}",
        headers={"Api-Key": KASPI_KEY},
        timeout=10,
    )
    return response.json(parse_float=Decimal)["Data"]["Status"]


def refused_with_503(response) -> None:
    assert response.status_code == 503, response.get_json()
    assert response.get_json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert int(response.headers["Retry-After"]) >= 1


def rows(db_session) -> list[tuple[uuid.UUID, str, str | None]]:
    """Every transaction's id, status and payment id, read in a transaction of the
    test's that ends here (a task run in-process refuses to start inside one)."""
    found = db_session.execute(
        select(Transaction.id, Transaction.status, Transaction.provider_payment_id).order_by(
            Transaction.created_at
        )
    ).all()
    db_session.commit()
    return [tuple(row) for row in found]


@pytest.mark.parametrize("key", [None, "browser-a"])
def test_a_link_that_could_not_be_stored_is_voided_and_its_row_closed(
    client, db_session, kaspi_stub, monkeypatch, payments, key
):
    event_id = draft(client)
    attach_payment = intents.attach_payment
    monkeypatch.setattr(intents, "attach_payment", connection_lost)

    refused_with_503(buy(client, event_id, key))

    # Kaspi made a payment for the committed row; nobody can pay it now.
    [(tx_id, status, payment_id)] = rows(db_session)
    assert kaspi_status(kaspi_stub, payments[0]) == "Canceled"
    assert status == "failed" and payment_id is None
    note = db_session.scalars(
        select(TransactionEvent.note).where(
            TransactionEvent.transaction_id == tx_id, TransactionEvent.to_status == "failed"
        )
    ).one()
    assert note == withdraw.NOTE
    assert db_session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0

    # The buyer's retry (the same key, the same event) starts a purchase anew.
    monkeypatch.setattr(intents, "attach_payment", attach_payment)
    retry = buy(client, event_id, key)
    assert retry.status_code == 201, retry.get_json()
    assert retry.get_json()["transaction_id"] != str(tx_id)
    assert [r[1] for r in rows(db_session)] == ["failed", "pending"]
    assert kaspi_status(kaspi_stub, payments[1]) == "Wait"


def test_a_row_the_request_could_not_close_is_closed_by_the_task(
    client, db_session, kaspi_stub, monkeypatch, payments
):
    """The database is still away when the request tries to close its row: the task
    sent for it closes the row once the database answers."""
    event_id = draft(client)
    monkeypatch.setattr(intents, "attach_payment", connection_lost)
    monkeypatch.setattr(withdraw, "close", connection_lost)
    sent: list[tuple] = []
    monkeypatch.setattr(
        withdraw.current_celery,
        "send_task",
        lambda name, args, countdown: sent.append((name, args, countdown)),
    )

    refused_with_503(buy(client, event_id, "browser-a"))

    [(tx_id, status, _)] = rows(db_session)
    assert status == "pending"
    assert kaspi_status(kaspi_stub, payments[0]) == "Canceled"
    assert sent == [
        (
            withdraw_intent.name,
            (str(tx_id), payments[0], "buyer", "browser-a"),
            withdraw.LATER_S,
        )
    ]

    monkeypatch.undo()
    assert withdraw_intent.apply(args=sent[0][1]).get() == "closed"
    assert [r[1] for r in rows(db_session)] == ["failed"]
    # Run again (a redelivery), it finds nothing left to do.
    assert withdraw_intent.apply(args=sent[0][1]).get() == "nothing_left"
    assert buy(client, event_id, "browser-a").status_code == 201


def test_the_task_releases_only_the_claim_bound_to_its_row(client, db_session, kaspi_stub):
    """A claim a later retry made (not bound to the withdrawn row) is left alone."""
    event_id = draft(client)
    first = buy(client, event_id, "browser-a")
    assert first.status_code == 201
    record = db_session.scalars(select(IdempotencyRecord)).one()
    record.state = "in_progress"
    db_session.commit()
    # transaction_id stays the first row's: the task names another row.
    stranger = str(uuid.uuid4())
    assert withdraw_intent.apply(args=(stranger, None, "buyer", "browser-a")).get() == (
        "nothing_left"
    )
    assert db_session.scalars(select(IdempotencyRecord)).one().state == "in_progress"


def test_a_reply_committed_unseen_is_not_replayed_for_a_voided_payment(
    client, db_session, kaspi_stub, monkeypatch, payments
):
    """The keyed last step (the link and the stored reply) commits, but the connection
    drops before its answer arrives: the payment is voided, so the stored 201 must go
    with it, or the buyer's retry would replay a link nobody can pay."""
    event_id = draft(client)
    real_step = intents.step

    @contextmanager
    def committed_then_cut():
        with real_step():
            yield
        connection_lost()

    monkeypatch.setattr(intents, "step", committed_then_cut)

    refused_with_503(buy(client, event_id, "browser-a"))

    [(tx_id, status, payment_id)] = rows(db_session)
    assert kaspi_status(kaspi_stub, payments[0]) == "Canceled"
    assert status == "failed" and payment_id == payments[0]
    assert db_session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0
    db_session.commit()

    monkeypatch.setattr(intents, "step", real_step)
    retry = buy(client, event_id, "browser-a")
    assert retry.status_code == 201, retry.get_json()
    assert retry.get_json()["transaction_id"] != str(tx_id)
    assert kaspi_status(kaspi_stub, payments[1]) == "Wait"
