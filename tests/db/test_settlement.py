"""Settlement, reconciliation with the stub, refunds, status polling and the dev/CLI paths."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.billing.core import status as sm
from app.billing.core.models import Transaction, TransactionEvent
from app.billing.operator import refunds
from app.billing.settle import reconcile
from app.billing.settle.settlement import settle
from app.clubs.models import ClubSubscription, SubscriptionGrant
from app.events.models import Event
from tests.conftest import auth
from tests.support.factories import make_club, make_user
from tests.support.purchases import credits_of, intent
from tests.support.stub_server import confirm_payment, expire_payment, fail_payment

pytestmark = pytest.mark.db


def audit(db_session, tx_id):
    return [
        (e.from_status, e.to_status, e.source)
        for e in db_session.scalars(
            select(TransactionEvent)
            .where(TransactionEvent.transaction_id == tx_id)
            .order_by(TransactionEvent.id)
        )
    ]


def test_paid_at_the_provider_completes_and_grants_quantity_credits(client, db_session, kaspi_stub):
    tx_id, payment_id = intent(client, quantity=3)
    assert reconcile.reconcile(tx_id) == "waiting"
    confirm_payment(kaspi_stub, payment_id)
    assert reconcile.reconcile(tx_id) == "completed"
    db_session.commit()
    tx = db_session.get(Transaction, tx_id)
    assert tx.status == "completed" and tx.settled_at is not None and tx.provider_transaction_id
    assert [(c.sequence, c.status) for c in credits_of(db_session, tx_id)] == [
        (1, "available"),
        (2, "available"),
        (3, "available"),
    ]
    assert audit(db_session, tx_id) == [
        (None, "pending", "api"),
        ("pending", "completed", "worker"),
    ]
    # A second look changes nothing and grants nothing.
    db_session.commit()
    assert reconcile.reconcile(tx_id) == "not_pending"
    assert len(credits_of(db_session, tx_id)) == 3


def test_declined_at_the_provider_fails_without_credits(client, db_session, kaspi_stub):
    tx_id, payment_id = intent(client)
    fail_payment(kaspi_stub, payment_id)
    assert reconcile.reconcile(tx_id) == "failed"
    db_session.commit()
    assert db_session.get(Transaction, tx_id).status == "failed"
    assert credits_of(db_session, tx_id) == []


def test_expiry_needs_both_expiries_and_no_payment(client, db_session, kaspi_stub):
    tx_id, payment_id = intent(client)
    tx = db_session.get(Transaction, tx_id)
    tx.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db_session.commit()
    # Our TTL passed but the provider would still take the payment: keep waiting.
    assert reconcile.reconcile(tx_id) == "waiting"
    expire_payment(kaspi_stub, payment_id)
    assert reconcile.reconcile(tx_id) == "expired"
    db_session.commit()
    assert db_session.get(Transaction, tx_id).status == "expired"


def test_expiry_waits_out_the_margin_after_the_providers_expiry(
    client, db_session, kaspi_stub, app, monkeypatch
):
    monkeypatch.setitem(app.config, "PROVIDER_EXPIRY_MARGIN_S", 300.0)
    tx_id, payment_id = intent(client)
    tx = db_session.get(Transaction, tx_id)
    tx.expires_at = datetime.now(UTC) - timedelta(minutes=10)
    db_session.commit()
    expire_payment(kaspi_stub, payment_id)
    assert reconcile.reconcile(tx_id) == "waiting"  # Kaspi expired it only just now
    db_session.commit()
    assert db_session.get(Transaction, tx_id).status == "pending"


def test_a_pending_row_whose_link_was_never_created_expires(client, db_session):
    from tests.support.factories import make_transaction

    tx = make_transaction(make_user("ghost"))
    tx.provider_payment_id = None
    tx.created_at = datetime.now(UTC) - timedelta(hours=2)
    tx.expires_at = datetime.now(UTC) - timedelta(hours=1)
    tx_id = tx.id
    db_session.commit()
    assert reconcile.reconcile(tx_id) == "expired"
    assert db_session.get(Transaction, tx_id).status == "expired"


def test_a_late_processed_answer_is_never_lost(client, db_session, kaspi_stub):
    tx_id, payment_id = intent(client)
    tx = db_session.get(Transaction, tx_id)
    tx.expires_at = datetime.now(UTC) - timedelta(minutes=5)
    db_session.commit()
    confirm_payment(kaspi_stub, payment_id)
    expire_payment(kaspi_stub, payment_id)  # paid just before the provider's expiry
    assert reconcile.reconcile(tx_id) == "completed"


def test_settling_twice_grants_once(client, db_session):
    tx_id, _ = intent(client, quantity=2)
    first = settle(tx_id, sm.TxStatus.COMPLETED, source="cli")
    db_session.commit()
    second = settle(tx_id, sm.TxStatus.COMPLETED, source="worker")
    db_session.commit()
    assert (first.changed, first.granted) == (True, 2)
    assert (second.changed, second.granted) == (False, 0)
    assert len(credits_of(db_session, tx_id)) == 2


def test_a_settled_transaction_refuses_another_outcome(client, db_session):
    tx_id, _ = intent(client)
    settle(tx_id, sm.TxStatus.FAILED, source="dev")
    db_session.commit()
    with pytest.raises(sm.IllegalTransition):
        settle(tx_id, sm.TxStatus.COMPLETED, source="worker")
    db_session.rollback()
    assert db_session.get(Transaction, tx_id).status == "failed"


def test_plan_purchase_activates_then_extends_from_the_current_end(client, db_session):
    owner = make_user("owner")
    club = make_club(owner)
    tx1, _ = intent(client, user="owner", product_code="CLUB_500", club_id=str(club.id))
    settle(tx1, sm.TxStatus.COMPLETED, source="worker")
    db_session.commit()
    sub = db_session.scalar(select(ClubSubscription).where(ClubSubscription.club_id == club.id))
    assert (sub.plan_id, sub.status) == ("club_500", "active")
    first_end = sub.current_period_end
    assert first_end - sub.current_period_start == timedelta(days=30)
    assert sub.grace_until - first_end == timedelta(days=7)

    tx2, _ = intent(client, user="owner", product_code="CLUB_500", club_id=str(club.id))
    settle(tx2, sm.TxStatus.COMPLETED, source="worker")
    settle(tx2, sm.TxStatus.COMPLETED, source="worker")  # idempotent
    db_session.commit()
    db_session.refresh(sub)
    assert sub.current_period_end == first_end + timedelta(days=30)
    grants = db_session.scalar(select(func.count()).select_from(SubscriptionGrant))
    assert grants == 2


def test_switching_plan_starts_the_new_plan_now(client, db_session):
    owner = make_user("owner")
    club = make_club(owner)
    tx1, _ = intent(client, user="owner", product_code="CLUB_50", club_id=str(club.id))
    settle(tx1, sm.TxStatus.COMPLETED, source="worker")
    db_session.commit()
    tx2, _ = intent(client, user="owner", product_code="CLUB_UNLIMITED", club_id=str(club.id))
    before = datetime.now(UTC)
    settle(tx2, sm.TxStatus.COMPLETED, source="worker")
    db_session.commit()
    sub = db_session.scalar(select(ClubSubscription).where(ClubSubscription.club_id == club.id))
    assert sub.plan_id == "club_unlimited"
    assert before - timedelta(seconds=5) <= sub.current_period_start <= datetime.now(UTC)
    assert sub.current_period_end - sub.current_period_start == timedelta(days=30)


def test_subscription_lifecycle_active_grace_expired(client, db_session):
    from app.clubs.subscriptions import advance_due, effective_plan

    owner = make_user("owner")
    club = make_club(owner)
    tx, _ = intent(client, user="owner", product_code="CLUB_50", club_id=str(club.id))
    settle(tx, sm.TxStatus.COMPLETED, source="worker")
    db_session.commit()
    sub = db_session.scalar(select(ClubSubscription).where(ClubSubscription.club_id == club.id))
    end = sub.current_period_end
    assert advance_due(end - timedelta(seconds=1)) == {"grace": 0, "expired": 0}
    assert advance_due(end + timedelta(seconds=1)) == {"grace": 1, "expired": 0}
    assert effective_plan(club.id).plan.id == "club_50"  # grace keeps the plan
    assert advance_due(sub.grace_until + timedelta(seconds=1)) == {"grace": 0, "expired": 1}
    db_session.commit()
    current = effective_plan(club.id)
    assert (current.plan.id, current.status) == ("free", "expired")


def test_status_endpoint_is_owner_only_and_other_users_get_not_found(client, db_session):
    tx_id, _ = intent(client, user="alice")
    mine = client.get(
        f"/api/billing/transactions/status?transaction_id={tx_id}", headers=auth("alice")
    )
    assert mine.status_code == 200
    body = mine.get_json()
    assert body["status"] == "pending" and body["transaction_id"] == str(tx_id)
    assert {"created_at", "updated_at", "settled_at", "expires_at", "amount"} <= set(body)
    by_path = client.get(f"/api/billing/transactions/{tx_id}", headers=auth("alice"))
    # The same, and its fiscal receipts (none before it is paid).
    assert by_path.get_json() == {**body, "receipts": []}
    theirs = client.get(f"/api/billing/transactions/{tx_id}", headers=auth("mallory"))
    missing = client.get(f"/api/billing/transactions/{uuid.uuid4()}", headers=auth("mallory"))
    assert theirs.status_code == missing.status_code == 404
    # Identical but for each answer's own request id.
    theirs_error, missing_error = theirs.get_json()["error"], missing.get_json()["error"]
    assert theirs_error.pop("request_id") != missing_error.pop("request_id")
    assert theirs_error == missing_error


@pytest.mark.parametrize(
    "query", ["", "?transaction_id=", "?transaction_id=42", "?transaction_id=%00"]
)
def test_status_endpoint_rejects_bad_ids(client, query):
    response = client.get(f"/api/billing/transactions/status{query}", headers=auth("alice"))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "VALIDATION_ERROR"


def test_status_by_path_with_a_non_uuid_is_404(client):
    response = client.get("/api/billing/transactions/12", headers=auth("alice"))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "TRANSACTION_NOT_FOUND"


def test_credits_endpoint_lists_and_counts(client, db_session):
    tx_id, _ = intent(client, user="carol", quantity=2)
    settle(tx_id, sm.TxStatus.COMPLETED, source="worker")
    db_session.commit()
    body = client.get("/api/billing/credits", headers=auth("carol")).get_json()
    assert body["available"] == {"EVENT_UPGRADE_500": 2}
    assert {c["source_transaction_id"] for c in body["credits"]} == {str(tx_id)}
    assert client.get("/api/billing/credits", headers=auth("dave")).get_json()["available"] == {}


def test_dev_settle_waits_and_goes_through_the_status_machine(client, db_session):
    tx_id, _ = intent(client)
    response = client.post(
        "/api/dev/billing/settle?wait=1",
        json={"transaction_id": str(tx_id), "outcome": "paid"},
        headers=auth("buyer"),
    )
    assert response.status_code == 200 and response.get_json()["status"] == "completed"
    again = client.post(
        "/api/dev/billing/settle?wait=1",
        json={"transaction_id": str(tx_id), "outcome": "failed"},
        headers=auth("buyer"),
    )
    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "ILLEGAL_TRANSITION")
    assert audit(db_session, tx_id)[-1] == ("pending", "completed", "dev")


def test_dev_settle_queues_a_task_after_commit(client, db_session, app):
    tx_id, _ = intent(client)
    response = client.post(
        "/api/dev/billing/settle",
        json={"transaction_id": str(tx_id), "outcome": "failed"},
        headers=auth("buyer"),
    )
    assert response.status_code == 202
    assert uuid.UUID(response.get_json()["task_id"])
    assert db_session.get(Transaction, tx_id).status == "pending"  # the worker settles it


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"transaction_id": "x"},
        {"transaction_id": None},
        {"transaction_id": str(uuid.uuid4()), "outcome": "maybe"},
    ],
)
def test_dev_settle_bad_input(client, body):
    response = client.post("/api/dev/billing/settle", json=body, headers=auth("buyer"))
    assert response.status_code == 400


def test_dev_settle_of_someone_elses_transaction_is_404(client):
    tx_id, _ = intent(client, user="alice")
    response = client.post(
        "/api/dev/billing/settle?wait=1",
        json={"transaction_id": str(tx_id)},
        headers=auth("mallory"),
    )
    assert response.status_code == 404


def test_cli_settle_and_show(app, client, db_session):
    tx_id, _ = intent(client)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["billing", "settle", str(tx_id), "--outcome", "paid"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("completed")
    again = runner.invoke(args=["billing", "settle", str(tx_id), "--outcome", "failed"])
    assert again.exit_code != 0 and "cannot become failed" in again.output
    shown = runner.invoke(args=["billing", "show", str(tx_id)])
    assert '"source": "cli"' in shown.output
    bad = runner.invoke(args=["billing", "settle", "not-an-id"])
    assert bad.exit_code != 0


def test_cli_set_price(app, client, db_session):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["billing", "set-price", "CLUB_50", "5500.50"]).exit_code == 0
    catalog = client.get("/api/billing/products").get_json()
    plan = next(p for p in catalog["plans"] if p["id"] == "club_50")
    assert plan["price"]["amount"] == "5500.50"
    for bad in (["NOPE", "1"], ["CLUB_50", "abc"], ["CLUB_50", "-1"], ["CLUB_50", "1.001"]):
        assert runner.invoke(args=["billing", "set-price", *bad]).exit_code != 0


def test_refund_revokes_unused_credits(client, db_session, kaspi_stub):
    tx_id, payment_id = intent(client, quantity=2)
    confirm_payment(kaspi_stub, payment_id)
    reconcile.reconcile(tx_id)
    db_session.commit()
    tx = refunds.refund(tx_id)
    assert tx.status == "refunded"
    assert {c.status for c in credits_of(db_session, tx_id)} == {"revoked"}
    assert audit(db_session, tx_id)[-1] == ("completed", "refunded", "cli")


def test_refund_is_refused_when_a_credit_was_used(client, db_session, kaspi_stub):
    tx_id, payment_id = intent(client, quantity=2)
    confirm_payment(kaspi_stub, payment_id)
    reconcile.reconcile(tx_id)
    db_session.commit()
    credit = credits_of(db_session, tx_id)[0]
    event = Event(
        owner_id="buyer",
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
    with pytest.raises(refunds.RefundRefused, match="already used"):
        refunds.refund(tx_id)
    db_session.rollback()
    assert db_session.get(Transaction, tx_id).status == "completed"
    assert [c.status for c in credits_of(db_session, tx_id)] == ["consumed", "available"]


def test_refund_of_a_pending_transaction_is_refused(client, db_session):
    tx_id, _ = intent(client)
    with pytest.raises(refunds.RefundRefused, match="only completed"):
        refunds.refund(tx_id)


def test_plan_limits_end_on_time_even_if_the_lifecycle_task_never_ran(client, db_session):
    from app.clubs.subscriptions import effective_plan

    owner = make_user("owner")
    club = make_club(owner)
    tx, _ = intent(client, user="owner", product_code="CLUB_UNLIMITED", club_id=str(club.id))
    settle(tx, sm.TxStatus.COMPLETED, source="worker")
    db_session.commit()
    sub = db_session.scalar(select(ClubSubscription).where(ClubSubscription.club_id == club.id))
    # The period and grace ended days ago, but the stored status still says grace.
    sub.current_period_start = datetime.now(UTC) - timedelta(days=40)
    sub.current_period_end = datetime.now(UTC) - timedelta(days=10)
    sub.grace_until = datetime.now(UTC) - timedelta(days=3)
    sub.status = "grace"
    db_session.commit()
    current = effective_plan(club.id)
    assert (current.plan.id, current.status) == ("free", "expired")
    body = client.get(f"/api/clubs/{club.id}", headers=auth("owner")).get_json()
    assert body["plan_id"] == "free" and body["subscription"]["status"] == "expired"


def test_refunding_a_plan_takes_back_the_period_it_bought(client, db_session, kaspi_stub):
    owner = make_user("owner")
    club = make_club(owner)
    first, pay1 = intent(client, user="owner", product_code="CLUB_50", club_id=str(club.id))
    second, pay2 = intent(client, user="owner", product_code="CLUB_50", club_id=str(club.id))
    for tx_id, payment_id in ((first, pay1), (second, pay2)):
        confirm_payment(kaspi_stub, payment_id)
        assert reconcile.reconcile(tx_id) == "completed"
        db_session.commit()
    sub = db_session.scalar(select(ClubSubscription).where(ClubSubscription.club_id == club.id))
    two_periods_end = sub.current_period_end
    db_session.commit()
    refunds.refund(second)
    db_session.refresh(sub)
    assert sub.current_period_end == two_periods_end - timedelta(days=30)
    assert sub.status == "active"
    db_session.commit()
    refunds.refund(first)
    db_session.refresh(sub)
    assert sub.status == "expired"
    assert (
        client.get(f"/api/clubs/{club.id}", headers=auth("owner")).get_json()["plan_id"] == "free"
    )


def test_cli_settle_without_outcome_asks_kaspi(app, client, db_session, kaspi_stub):
    tx_id, payment_id = intent(client)
    runner = app.test_cli_runner()
    waiting = runner.invoke(args=["billing", "settle", str(tx_id)])
    assert waiting.exit_code == 0 and "pending (waiting)" in waiting.output
    confirm_payment(kaspi_stub, payment_id)
    paid = runner.invoke(args=["billing", "settle", str(tx_id)])
    assert paid.exit_code == 0 and "completed (completed)" in paid.output
    assert audit(db_session, tx_id)[-1] == ("pending", "completed", "cli")


def test_cli_forced_outcome_needs_force_in_production(app, client, db_session, monkeypatch):
    tx_id, _ = intent(client)
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["billing", "settle", str(tx_id), "--outcome", "paid"])
    assert refused.exit_code != 0 and "--force" in refused.output
    assert db_session.get(Transaction, tx_id).status == "pending"
    db_session.commit()
    forced = runner.invoke(args=["billing", "settle", str(tx_id), "--outcome", "paid", "--force"])
    assert forced.exit_code == 0 and forced.output.strip().endswith("completed")
