"""Two operators click at once (real gunicorn, 4 worker processes, the real stub): a
refund or a resolve moves money exactly once, the other click is refused, and the
audit names both operators."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import requests
from sqlalchemy import func, select

from app.auth.roles import OPERATOR
from app.auth.tokens import issue_token
from app.billing.core.models import Credit, OperatorAction, Transaction, TransactionRefund
from app.billing.settle import reconcile
from app.db import edge
from app.extensions import db
from tests.conftest import JWT_SECRET, auth
from tests.integration.test_money_races import kaspi_paid
from tests.support.stub_server import confirm_payment, reset_faults, set_faults

pytestmark = pytest.mark.integration

OPERATORS = ("ops-anna", "ops-bek")


@pytest.fixture
def api(clean_db, api_server, kaspi_stub):
    reset_faults(kaspi_stub)
    yield api_server
    reset_faults(kaspi_stub)


def held_or_paid(app, api, kaspi_stub, *, amount: str | None = None) -> tuple[str, str]:
    """A purchase of 2 credits Kaspi reports paid (``amount``: another sum), checked once."""
    response = requests.post(
        f"{api}/api/billing/purchase-intent",
        json={"product_code": "EVENT_UPGRADE_500", "quantity": 2},
        headers=auth("racing-buyer"),
        timeout=30,
    )
    assert response.status_code == 201, response.text
    tx_id, payment_id = response.json()["transaction_id"], response.json()["payment"]["payment_id"]
    confirm_payment(kaspi_stub, payment_id, amount=amount)
    with app.app_context(), edge(multi_step=True):
        reconcile.reconcile(uuid.UUID(tx_id))
    return tx_id, payment_id


def two_clicks(api: str, path: str, body: dict) -> list[int]:
    """Both operators post at the same moment (a barrier); answers the two statuses."""
    barrier = threading.Barrier(len(OPERATORS))

    def click(operator: str) -> int:
        token = issue_token(JWT_SECRET, operator, 600, roles=(OPERATOR,))
        barrier.wait(timeout=10)
        response = requests.post(
            f"{api}{path}",
            json={**body, "reason": f"{operator} clicked"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        assert response.status_code in (200, 409), response.text
        return response.status_code

    with ThreadPoolExecutor(len(OPERATORS)) as pool:
        return sorted(pool.map(click, OPERATORS))


def recorded(app, tx_id: str) -> tuple[Transaction, list[TransactionRefund], list[OperatorAction]]:
    with app.app_context():
        tx_uuid = uuid.UUID(tx_id)
        tx = db.session.get_one(Transaction, tx_uuid)
        refunds = list(
            db.session.scalars(
                select(TransactionRefund).where(TransactionRefund.transaction_id == tx_uuid)
            )
        )
        actions = list(
            db.session.scalars(
                select(OperatorAction).where(OperatorAction.transaction_id == tx_uuid)
            )
        )
        db.session.expunge_all()
        return tx, refunds, actions


def both_audited(actions: list[OperatorAction]) -> None:
    assert sorted(a.operator_id for a in actions) == sorted(OPERATORS)
    assert sorted(a.outcome for a in actions) == ["done", "refused"]
    for action in actions:
        assert action.reason == f"{action.operator_id} clicked"


@pytest.mark.parametrize("kaspi_latency_ms", [0, 400])
def test_two_operators_refund_at_once_and_kaspi_returns_the_money_once(
    api, app, kaspi_stub, kaspi_latency_ms
):
    tx_id, payment_id = held_or_paid(app, api, kaspi_stub)
    # With latency the first refund is still at Kaspi when the second click arrives.
    set_faults(kaspi_stub, latency_ms=kaspi_latency_ms)
    statuses = two_clicks(api, f"/api/ops/transactions/{tx_id}/refund", {"amount": "2000.00"})
    reset_faults(kaspi_stub)

    assert statuses == [200, 409]
    assert kaspi_paid(kaspi_stub, payment_id) == ("Processed", Decimal("2000.00"))
    tx, refunds, actions = recorded(app, tx_id)
    assert (tx.status, tx.refunded_amount) == ("refunded", Decimal("2000.00"))
    assert [r.amount for r in refunds] == [Decimal("2000.00")]
    both_audited(actions)


def test_two_operators_resolve_a_wrong_amount_at_once_and_it_is_returned_once(api, app, kaspi_stub):
    tx_id, payment_id = held_or_paid(app, api, kaspi_stub, amount="1500.00")
    assert recorded(app, tx_id)[0].status == "needs_review"
    set_faults(kaspi_stub, latency_ms=400)
    statuses = two_clicks(api, f"/api/ops/transactions/{tx_id}/resolve", {"action": "refund"})
    reset_faults(kaspi_stub)

    assert statuses == [200, 409]
    assert kaspi_paid(kaspi_stub, payment_id) == ("Processed", Decimal("1500.00"))
    tx, refunds, actions = recorded(app, tx_id)
    assert (tx.status, tx.refunded_amount) == ("refunded", Decimal("1500.00"))
    assert [r.amount for r in refunds] == [Decimal("1500.00")]
    both_audited(actions)


def test_two_operators_grant_at_once_and_the_credits_are_granted_once(api, app, kaspi_stub):
    tx_id, _ = held_or_paid(app, api, kaspi_stub, amount="2500.00")
    statuses = two_clicks(api, f"/api/ops/transactions/{tx_id}/resolve", {"action": "grant"})

    assert statuses == [200, 409]
    tx, refunds, actions = recorded(app, tx_id)
    assert tx.status == "completed" and refunds == []
    with app.app_context():
        granted = db.session.scalar(
            select(func.count())
            .select_from(Credit)
            .where(Credit.source_transaction_id == uuid.UUID(tx_id))
        )
    assert granted == 2
    both_audited(actions)
