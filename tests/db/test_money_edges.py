"""Money at the edges, against the Kaspi stub over HTTP: verify before granting,
late money under each policy, the buyer's cancel, prompt expiry, the review queue
and partial refunds."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests
from sqlalchemy import select, update

from app.billing.core.models import Credit, Transaction, TransactionEvent, TransactionRefund
from app.billing.kaspi.client import KaspiClient
from app.billing.operator import refunds
from app.billing.settle import late, reconcile
from app.catalog.models import BillingPolicy
from app.events.models import Event
from tests.conftest import KASPI_KEY, auth
from tests.support.envelope import error_of as assert_envelope
from tests.support.purchases import credits_of, intent
from tests.support.stub_server import (
    confirm_payment,
    expire_payment,
    reset_faults,
    set_faults,
    set_payment_status,
)

pytestmark = pytest.mark.db


def status_of(client, tx_id, user="buyer") -> dict:
    response = client.get(f"/api/billing/transactions/{tx_id}", headers=auth(user))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def events_of(db_session, tx_id) -> list[TransactionEvent]:
    return db_session.scalars(
        select(TransactionEvent)
        .where(TransactionEvent.transaction_id == tx_id)
        .order_by(TransactionEvent.id)
    ).all()


def trail(db_session, tx_id) -> list[tuple]:
    return [(e.from_status, e.to_status, e.source) for e in events_of(db_session, tx_id)]


def stub_status(kaspi_stub, payment_id) -> dict:
    response = requests.get(
        f"{kaspi_stub}/r3/v01/payment/status/{payment_id}",
        headers={"Api-Key": KASPI_KEY},
        timeout=10,
    )
    return response.json(parse_float=Decimal)["Data"]


def set_policy(db_session, action: str, window_days: int = 7) -> None:
    policy = db_session.get(BillingPolicy, 1)
    policy.late_payment_action, policy.late_payment_window_days = action, window_days
    db_session.commit()


def sweep(db_session) -> dict[uuid.UUID, str]:
    """One late-payment sweep run, its checks run inline (the worker's job)."""
    ids = late.claim_late_candidates(datetime.now(UTC))
    db_session.commit()
    return {tx_id: late.check_late(tx_id) for tx_id in ids}


# -- 1. verify before granting -------------------------------------------------


def test_processed_with_another_amount_goes_to_review_and_grants_nothing(
    client, db_session, kaspi_stub, caplog
):
    tx_id, payment_id = intent(client)
    confirm_payment(kaspi_stub, payment_id, amount="1.00")

    with caplog.at_level(logging.ERROR, logger="app.billing.settle.verify"):
        assert reconcile.reconcile(tx_id) == "needs_review"

    db_session.commit()
    assert status_of(client, tx_id)["status"] == "needs_review"
    assert credits_of(db_session, tx_id) == []
    held = events_of(db_session, tx_id)[-1]
    assert (held.from_status, held.to_status) == ("pending", "needs_review")
    assert (held.amount, held.provider_amount) == (Decimal("1000.00"), Decimal("1.00"))
    assert "amount" in held.note
    assert any(str(tx_id) in r.getMessage() for r in caplog.records if r.levelname == "ERROR")
    # A poll later changes nothing: only an operator moves it out.
    db_session.commit()
    assert reconcile.reconcile(tx_id) == "not_pending"


def test_an_answer_about_another_transaction_is_held_not_granted(client, db_session, kaspi_stub):
    """The provider's ids were reset: our row names a payment id that now belongs to
    another buyer's payment. Its ExternalId gives it away."""
    other_tx, other_payment = intent(client, user="other-buyer")
    tx_id, _ = intent(client)
    db_session.execute(
        update(Transaction)
        .where(Transaction.id == other_tx)
        .values(provider_payment_id=f"moved-{other_payment}")
    )
    db_session.execute(
        update(Transaction).where(Transaction.id == tx_id).values(provider_payment_id=other_payment)
    )
    db_session.commit()
    confirm_payment(kaspi_stub, other_payment)

    assert reconcile.reconcile(tx_id) == "needs_review"

    db_session.commit()
    assert db_session.get(Transaction, tx_id).status == "needs_review"
    assert credits_of(db_session, tx_id) == []
    assert "ExternalId" in events_of(db_session, tx_id)[-1].note


def test_a_matching_answer_settles_with_both_amounts_audited(client, db_session, kaspi_stub):
    tx_id, payment_id = intent(client, quantity=2)
    confirm_payment(kaspi_stub, payment_id)
    assert reconcile.reconcile(tx_id) == "completed"
    db_session.commit()
    done = events_of(db_session, tx_id)[-1]
    assert (done.amount, done.provider_amount) == (Decimal("2000.00"), Decimal("2000.00"))
    assert len(credits_of(db_session, tx_id)) == 2


@pytest.mark.parametrize("raw", ["QrTokenCreated", "RemotePaymentCreated", "BrandNewStatus"])
def test_other_kaspi_statuses_keep_the_transaction_pending(client, db_session, kaspi_stub, raw):
    tx_id, payment_id = intent(client)
    set_payment_status(kaspi_stub, payment_id, raw)
    assert reconcile.reconcile(tx_id) == "waiting"
    db_session.commit()
    assert db_session.get(Transaction, tx_id).status == "pending"


# -- 5. prompt expiry --------------------------------------------------------------


def test_the_providers_expiry_expires_at_once_whatever_our_ttl_says(client, db_session, kaspi_stub):
    tx_id, payment_id = intent(client)
    body = status_of(client, tx_id)
    assert body["payment"]["expires_at"] is not None
    assert datetime.fromisoformat(body["expires_at"]) > datetime.now(UTC) + timedelta(minutes=50)

    expired_at = expire_payment(kaspi_stub, payment_id)["ExpireDate"]
    assert reconcile.reconcile(tx_id) == "expired"

    db_session.commit()
    after = status_of(client, tx_id)
    assert after["status"] == "expired"
    assert datetime.fromisoformat(after["payment"]["expires_at"]) == datetime.fromisoformat(
        expired_at
    )


def test_expiry_still_waits_out_the_margin(client, db_session, kaspi_stub, app, monkeypatch):
    monkeypatch.setitem(app.config, "PROVIDER_EXPIRY_MARGIN_S", 300.0)
    tx_id, payment_id = intent(client)
    expire_payment(kaspi_stub, payment_id)
    assert reconcile.reconcile(tx_id) == "waiting"


# -- 4. cancel ---------------------------------------------------------------------


def cancel(client, tx_id, user="buyer"):
    return client.post(f"/api/billing/transactions/{tx_id}/cancel", headers=auth(user))


def test_cancel_of_an_unpaid_purchase_cancels_and_repeats_the_same_answer(
    client, db_session, kaspi_stub
):
    tx_id, _ = intent(client)

    first = cancel(client, tx_id)

    assert first.status_code == 200, first.get_json()
    assert first.get_json()["status"] == "canceled"
    again = cancel(client, tx_id)
    assert again.status_code == 200 and again.get_json() == first.get_json()
    assert trail(db_session, tx_id) == [(None, "pending", "api"), ("pending", "canceled", "api")]
    db_session.commit()
    assert reconcile.reconcile(tx_id) == "not_pending"


def test_cancel_finds_the_payment_made_and_settles_it(client, db_session, kaspi_stub):
    tx_id, payment_id = intent(client)
    confirm_payment(kaspi_stub, payment_id)

    response = cancel(client, tx_id)

    assert response.status_code == 200
    assert response.get_json()["status"] == "completed"
    assert len(credits_of(db_session, tx_id)) == 1


def test_cancel_of_a_mismatched_payment_answers_needs_review(client, db_session, kaspi_stub):
    tx_id, payment_id = intent(client)
    confirm_payment(kaspi_stub, payment_id, amount="999.99")
    response = cancel(client, tx_id)
    assert response.status_code == 200 and response.get_json()["status"] == "needs_review"
    assert credits_of(db_session, tx_id) == []


def test_cancel_of_a_settled_transaction_is_409_with_its_status(client, db_session, kaspi_stub):
    tx_id, payment_id = intent(client)
    confirm_payment(kaspi_stub, payment_id)
    reconcile.reconcile(tx_id)
    db_session.commit()

    response = cancel(client, tx_id)

    err = assert_envelope(response, 409, "TRANSACTION_NOT_PENDING")
    assert err["current_status"] == "completed"


def test_cancel_of_someone_elses_or_a_missing_transaction_is_404(client, db_session):
    tx_id, _ = intent(client)
    assert_envelope(cancel(client, tx_id, user="mallory"), 404, "TRANSACTION_NOT_FOUND")
    assert_envelope(cancel(client, uuid.uuid4()), 404, "TRANSACTION_NOT_FOUND")
    assert_envelope(cancel(client, "not-a-uuid"), 404, "TRANSACTION_NOT_FOUND")
    assert db_session.get(Transaction, tx_id).status == "pending"


def test_cancel_when_kaspi_does_not_answer_is_503_and_cancels_nothing(
    client, db_session, kaspi_stub
):
    tx_id, _ = intent(client)
    set_faults(kaspi_stub, error_rate=1.0)
    try:
        response = cancel(client, tx_id)
    finally:
        reset_faults(kaspi_stub)
    assert_envelope(response, 503, "PROVIDER_UNAVAILABLE")
    assert response.headers["Retry-After"]
    assert db_session.get(Transaction, tx_id).status == "pending"


def test_cancel_is_in_the_openapi_document(client):
    document = client.get("/openapi.json").get_json()
    operation = document["paths"]["/api/billing/transactions/{transaction_id}/cancel"]["post"]
    assert {"200", "404", "409", "503"} <= set(operation["responses"])


# -- 2. late money -------------------------------------------------------------


def expired_then_paid(client, db_session, kaspi_stub, **body):
    tx_id, payment_id = intent(client, **body)
    expire_payment(kaspi_stub, payment_id)
    assert reconcile.reconcile(tx_id) == "expired"
    db_session.commit()
    confirm_payment(kaspi_stub, payment_id, force=True)
    return tx_id, payment_id


def test_late_payment_is_granted_by_default(client, db_session, kaspi_stub):
    tx_id, _ = expired_then_paid(client, db_session, kaspi_stub, quantity=2)

    assert sweep(db_session)[tx_id] == "completed"

    db_session.commit()
    tx = db_session.get(Transaction, tx_id)
    assert tx.status == "completed" and tx.settled_at is not None
    assert len(credits_of(db_session, tx_id)) == 2
    assert trail(db_session, tx_id)[-1] == ("expired", "completed", "sweep")
    # Settled once: the next sweep has nothing to do with it.
    assert tx_id not in sweep(db_session)


def test_late_payment_is_refunded_under_the_refund_policy(client, db_session, kaspi_stub):
    set_policy(db_session, "refund")
    tx_id, payment_id = expired_then_paid(client, db_session, kaspi_stub)

    assert sweep(db_session)[tx_id] == "refunded"

    db_session.commit()
    tx = db_session.get(Transaction, tx_id)
    assert tx.status == "refunded" and tx.refunded_amount == Decimal("1000.00")
    assert credits_of(db_session, tx_id) == []
    assert stub_status(kaspi_stub, payment_id)["RefundedAmount"] == Decimal("1000.00")
    refund = db_session.scalar(
        select(TransactionRefund).where(TransactionRefund.transaction_id == tx_id)
    )
    assert refund.amount == Decimal("1000.00") and refund.provider_operation_id
    assert trail(db_session, tx_id)[-1] == ("expired", "refunded", "sweep")


def test_late_payment_is_held_under_the_hold_policy(client, db_session, kaspi_stub):
    set_policy(db_session, "hold")
    tx_id, _ = expired_then_paid(client, db_session, kaspi_stub)

    assert sweep(db_session)[tx_id] == "needs_review"

    db_session.commit()
    assert db_session.get(Transaction, tx_id).status == "needs_review"
    assert credits_of(db_session, tx_id) == []


def test_a_late_payment_of_another_amount_is_held_whatever_the_policy(
    client, db_session, kaspi_stub
):
    tx_id, payment_id = intent(client)
    expire_payment(kaspi_stub, payment_id)
    reconcile.reconcile(tx_id)
    db_session.commit()
    confirm_payment(kaspi_stub, payment_id, amount="10.00", force=True)

    assert sweep(db_session)[tx_id] == "needs_review"
    db_session.commit()
    held = events_of(db_session, tx_id)[-1]
    assert (held.amount, held.provider_amount) == (Decimal("1000.00"), Decimal("10.00"))


def test_failed_by_hand_while_the_buyer_paid_is_found_and_granted(client, db_session, kaspi_stub):
    tx_id, payment_id = intent(client)
    response = client.post(
        "/api/dev/billing/settle?wait=1",
        json={"transaction_id": str(tx_id), "outcome": "failed"},
        headers=auth("buyer"),
    )
    assert response.get_json()["status"] == "failed"
    confirm_payment(kaspi_stub, payment_id)
    # The regular poll does not touch a closed row...
    assert reconcile.reconcile(tx_id) == "not_pending"

    # ...the late-payment sweep does.
    assert sweep(db_session)[tx_id] == "completed"
    db_session.commit()
    assert len(credits_of(db_session, tx_id)) == 1


def test_paid_after_a_cancel_follows_the_policy(client, db_session, kaspi_stub):
    tx_id, payment_id = intent(client)
    assert cancel(client, tx_id).get_json()["status"] == "canceled"
    # The cancel closed the link, so only a payment Kaspi confirms anyway (one already
    # in flight) can still arrive: ``force``.
    confirm_payment(kaspi_stub, payment_id, force=True)

    assert sweep(db_session)[tx_id] == "completed"
    db_session.commit()
    assert trail(db_session, tx_id)[-1] == ("canceled", "completed", "sweep")


def test_the_sweep_only_looks_within_the_window_and_not_too_often(client, db_session, kaspi_stub):
    old_tx, _ = expired_then_paid(client, db_session, kaspi_stub)
    recent_tx, _ = expired_then_paid(client, db_session, kaspi_stub)
    db_session.execute(
        update(Transaction)
        .where(Transaction.id == old_tx)
        .values(updated_at=datetime.now(UTC) - timedelta(days=8))
    )
    db_session.commit()
    set_payment_status(kaspi_stub, stub_id(db_session, recent_tx), "Wait")

    first = sweep(db_session)

    assert old_tx not in first and first[recent_tx] == "unpaid"
    updated_before = db_session.get(Transaction, recent_tx).updated_at
    assert recent_tx not in sweep(db_session)  # asked a moment ago
    db_session.expire_all()
    # Stamping the sweep's cursor does not move the window's clock.
    assert db_session.get(Transaction, recent_tx).updated_at == updated_before


def stub_id(db_session, tx_id) -> str:
    return db_session.get(Transaction, tx_id).provider_payment_id


# -- 3. the review queue -------------------------------------------------------------


def held(client, db_session, kaspi_stub, amount="1.00"):
    tx_id, payment_id = intent(client)
    confirm_payment(kaspi_stub, payment_id, amount=amount)
    assert reconcile.reconcile(tx_id) == "needs_review"
    db_session.commit()
    return tx_id, payment_id


def test_review_lists_held_transactions_with_the_reason(app, client, db_session, kaspi_stub):
    tx_id, _ = held(client, db_session, kaspi_stub)
    result = app.test_cli_runner().invoke(args=["billing", "review"])
    assert result.exit_code == 0, result.output
    assert str(tx_id) in result.output
    assert "ours 1000.00" in result.output and "provider 1.00" in result.output
    assert "reason: amount" in result.output


def test_resolve_grant_completes_and_grants(app, client, db_session, kaspi_stub):
    tx_id, _ = held(client, db_session, kaspi_stub, amount="1.00")
    result = app.test_cli_runner().invoke(
        args=["billing", "resolve", str(tx_id), "--grant", "--note", "checked with Kaspi"]
    )
    assert result.exit_code == 0, result.output
    db_session.expire_all()
    assert db_session.get(Transaction, tx_id).status == "completed"
    assert len(credits_of(db_session, tx_id)) == 1
    last = events_of(db_session, tx_id)[-1]
    assert (last.to_status, last.source) == ("completed", "cli")
    assert "checked with Kaspi" in last.note


def test_resolve_refund_returns_what_kaspi_received(app, client, db_session, kaspi_stub):
    tx_id, payment_id = held(client, db_session, kaspi_stub, amount="1.00")
    result = app.test_cli_runner().invoke(
        args=["billing", "resolve", str(tx_id), "--refund", "--note", "wrong amount paid"]
    )
    assert result.exit_code == 0, result.output
    db_session.expire_all()
    tx = db_session.get(Transaction, tx_id)
    assert tx.status == "refunded" and tx.refunded_amount == Decimal("1.00")
    assert stub_status(kaspi_stub, payment_id)["RefundedAmount"] == Decimal("1.00")
    assert credits_of(db_session, tx_id) == []


def test_resolve_fail_is_refused_while_kaspi_reports_money_received(
    app, client, db_session, kaspi_stub
):
    tx_id, payment_id = held(client, db_session, kaspi_stub)
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["billing", "resolve", str(tx_id), "--fail", "--note", "x"])
    assert refused.exit_code != 0 and "received" in refused.output
    db_session.expire_all()
    assert db_session.get(Transaction, tx_id).status == "needs_review"

    set_payment_status(kaspi_stub, payment_id, "Error")  # Kaspi reversed it
    db_session.commit()
    done = runner.invoke(args=["billing", "resolve", str(tx_id), "--fail", "--note", "reversed"])
    assert done.exit_code == 0, done.output
    db_session.expire_all()
    assert db_session.get(Transaction, tx_id).status == "failed"


def test_nothing_but_resolve_leaves_needs_review(app, client, db_session, kaspi_stub):
    tx_id, _ = held(client, db_session, kaspi_stub)
    settle = client.post(
        "/api/dev/billing/settle?wait=1",
        json={"transaction_id": str(tx_id), "outcome": "paid"},
        headers=auth("buyer"),
    )
    assert_envelope(settle, 409)
    assert_envelope(cancel(client, tx_id), 409, "TRANSACTION_NOT_PENDING")
    with pytest.raises(refunds.RefundRefused):
        refunds.refund(tx_id)
    db_session.rollback()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["billing", "settle", str(tx_id), "--outcome", "paid"]).exit_code
    assert runner.invoke(args=["billing", "resolve", str(tx_id), "--grant"]).exit_code  # no note
    db_session.expire_all()
    assert db_session.get(Transaction, tx_id).status == "needs_review"


# -- 6. refund what is unused -----------------------------------------------------


def consume(db_session, credit: Credit) -> None:
    event = Event(
        owner_id=credit.user_id,
        title="Big",
        max_participants=200,
        published_at=datetime.now(UTC),
        upgraded_by_credit=True,
    )
    db_session.add(event)
    db_session.flush()
    credit.status, credit.consumed_event_id = "consumed", event.id
    credit.consumed_at = datetime.now(UTC)
    db_session.commit()


def test_refund_unused_returns_the_unused_share_and_leaves_consumed_credits(
    app, client, db_session, kaspi_stub
):
    tx_id, payment_id = intent(client, quantity=3)
    confirm_payment(kaspi_stub, payment_id)
    reconcile.reconcile(tx_id)
    db_session.commit()
    consume(db_session, credits_of(db_session, tx_id)[0])

    result = app.test_cli_runner().invoke(
        args=["billing", "refund", str(tx_id), "--unused", "--note", "unused"]
    )

    assert result.exit_code == 0, result.output
    assert "refunded 2000.00" in result.output
    db_session.expire_all()
    tx = db_session.get(Transaction, tx_id)
    assert tx.status == "completed" and tx.refunded_amount == Decimal("2000.00")
    assert [c.status for c in credits_of(db_session, tx_id)] == ["consumed", "revoked", "revoked"]
    assert stub_status(kaspi_stub, payment_id)["RefundedAmount"] == Decimal("2000.00")
    rows = db_session.scalars(
        select(TransactionRefund).where(TransactionRefund.transaction_id == tx_id)
    ).all()
    assert [(r.amount, r.credits_revoked) for r in rows] == [(Decimal("2000.00"), 2)]
    assert status_of(client, tx_id)["refunded_amount"] == "2000.00"
    # Nothing unused is left; a full refund stays refused (a credit was used).
    again = app.test_cli_runner().invoke(
        args=["billing", "refund", str(tx_id), "--unused", "--note", "unused"]
    )
    assert again.exit_code != 0 and "no unused credits" in again.output


def test_refund_unused_of_an_untouched_purchase_refunds_it_fully(client, db_session, kaspi_stub):
    tx_id, payment_id = intent(client, quantity=2)
    confirm_payment(kaspi_stub, payment_id)
    reconcile.reconcile(tx_id)
    db_session.commit()

    result = refunds.refund_unused(tx_id)

    assert (result.status, result.amount, result.credits_revoked) == (
        "refunded",
        Decimal("2000.00"),
        2,
    )
    db_session.expire_all()
    assert db_session.get(Transaction, tx_id).settled_at is not None


def test_refund_unused_restores_the_credits_when_kaspi_refuses(client, db_session, kaspi_stub):
    tx_id, payment_id = intent(client, quantity=2)
    confirm_payment(kaspi_stub, payment_id)
    reconcile.reconcile(tx_id)
    db_session.commit()
    # Someone returned money at Kaspi behind our back: the share now exceeds what is left.
    KaspiClient(kaspi_stub, KASPI_KEY).refund(payment_id, Decimal("1500.00"))

    with pytest.raises(refunds.RefundRefused):
        refunds.refund_unused(tx_id)

    db_session.expire_all()
    assert [c.status for c in credits_of(db_session, tx_id)] == ["available", "available"]
    assert db_session.get(Transaction, tx_id).refunded_amount == Decimal("0.00")


def test_a_full_refund_records_its_amount(client, db_session, kaspi_stub):
    tx_id, payment_id = intent(client)
    confirm_payment(kaspi_stub, payment_id)
    reconcile.reconcile(tx_id)
    db_session.commit()
    refunds.refund(tx_id)
    db_session.expire_all()
    tx = db_session.get(Transaction, tx_id)
    assert tx.refunded_amount == Decimal("1000.00")
    row = db_session.scalar(
        select(TransactionRefund).where(TransactionRefund.transaction_id == tx_id)
    )
    assert row.amount == Decimal("1000.00")


def test_the_sweep_asks_older_transactions_less_often(client, db_session, kaspi_stub):
    now = datetime.now(UTC)
    paused, due = (intent(client)[0] for _ in range(2))
    for tx_id, checked_hours_ago in ((paused, 2), (due, 13)):
        db_session.execute(
            update(Transaction)
            .where(Transaction.id == tx_id)
            .values(
                status="expired",
                updated_at=now - timedelta(days=2),
                late_checked_at=now - timedelta(hours=checked_hours_ago),
            )
        )
    db_session.commit()

    claimed = late.claim_late_candidates(now)

    # Closed 2 days ago: the pause is a quarter of (last check - close), ~11.5 h / ~8.75 h.
    assert due in claimed and paused not in claimed
