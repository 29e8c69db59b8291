"""Cancel races and late money with real processes: gunicorn (4 workers), a Celery
worker and beat polling Kaspi, dev settles, and 20 concurrent actors per round.
Whatever interleaving happens, DESIGN §6 holds and each transaction has one audit
trail that leaves pending exactly once."""

from __future__ import annotations

import itertools
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import requests
from sqlalchemy import func, select, update

from app.billing.core.models import Credit, Transaction, TransactionEvent
from app.catalog.models import BillingPolicy
from app.extensions import db
from tests.conftest import KASPI_KEY, auth
from tests.integration.conftest import service_env
from tests.support.processes import start_celery_beat, start_celery_worker, wait_until
from tests.support.stub_server import confirm_payment, expire_payment, reset_faults

pytestmark = pytest.mark.integration


@pytest.fixture
def late_env(app_config, kaspi_stub) -> dict[str, str]:
    return service_env(
        app_config, KASPI_BASE_URL=kaspi_stub, LATE_SWEEP_INTERVAL_S="1", LATE_RECHECK_S="1"
    )


@pytest.fixture
def stack(clean_db, api_server, kaspi_stub, late_env, tmp_path):
    reset_faults(kaspi_stub)
    procs = [
        start_celery_worker(late_env, concurrency=4),
        start_celery_beat(late_env, tmp_path / "beat", name="beat"),
    ]
    yield api_server
    for proc in procs:
        proc.stop()


def post_intent(api, user, quantity=1) -> dict:
    response = requests.post(
        f"{api}/api/billing/purchase-intent",
        json={"product_code": "EVENT_UPGRADE_500", "quantity": quantity},
        headers=auth(user),
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()


def tx_status(app, tx_id: str) -> str:
    with app.app_context():
        return db.session.scalar(
            select(Transaction.status).where(Transaction.id == uuid.UUID(tx_id))
        )


def kaspi_paid(kaspi_stub, payment_id) -> tuple[str, Decimal]:
    data = requests.get(
        f"{kaspi_stub}/r3/v01/payment/status/{payment_id}",
        headers={"Api-Key": KASPI_KEY},
        timeout=10,
    ).json(parse_float=Decimal)["Data"]
    return data["Status"], data["RefundedAmount"]


def assert_invariants(app, kaspi_stub, tx_id: str, payment_id: str, quantity: int) -> str:
    """DESIGN §6 for one transaction; answers its final status."""
    tx_uuid = uuid.UUID(tx_id)
    with app.app_context():
        tx = db.session.get(Transaction, tx_uuid)
        events = db.session.scalars(
            select(TransactionEvent)
            .where(TransactionEvent.transaction_id == tx_uuid)
            .order_by(TransactionEvent.id)
        ).all()
        credits = db.session.scalar(
            select(func.count()).select_from(Credit).where(Credit.source_transaction_id == tx_uuid)
        )
        status = tx.status
    # One audit trail: a chain from creation to the current status, pending left once.
    chain = [(e.from_status, e.to_status) for e in events]
    assert chain[0] == (None, "pending"), chain
    for (_, to), (frm, _) in itertools.pairwise(chain):
        assert frm == to, chain
    assert chain[-1][1] == status, chain
    assert sum(1 for frm, _ in chain if frm == "pending") == 1, chain
    # Granted exactly once, and only for a completed purchase.
    assert credits == (quantity if status == "completed" else 0), (status, credits)
    assert sum(1 for _, to in chain if to == "completed") <= 1, chain
    # Money Kaspi reports received is never left on a transaction closed without it.
    kaspi_status, refunded = kaspi_paid(kaspi_stub, payment_id)
    if kaspi_status == "Processed":
        assert status in ("completed", "refunded", "needs_review") or refunded > 0, (status, chain)
    return status


def race(api, user, tx_id, n=20) -> Counter:
    """n concurrent actors: buyer cancels, dev settles (immediate and queued)."""

    def act(i):
        if i % 3 == 0:
            url, body = f"{api}/api/billing/transactions/{tx_id}/cancel", None
        elif i % 3 == 1:
            url, body = f"{api}/api/dev/billing/settle?wait=1", {"transaction_id": tx_id}
        else:
            url, body = f"{api}/api/dev/billing/settle", {"transaction_id": tx_id}
        response = requests.post(url, json=body, headers=auth(user), timeout=60)
        return i % 3, response.status_code

    with ThreadPoolExecutor(n) as pool:
        return Counter(pool.map(act, range(n)))


def test_cancel_races_settles_from_api_worker_and_dev_and_invariants_hold(
    stack, app, kaspi_stub, late_env
):
    rounds = []
    for paid_first in (True, False, True, False):
        body = post_intent(stack, "racer", quantity=2)
        tx_id, payment_id = body["transaction_id"], body["payment"]["payment_id"]
        if paid_first:
            confirm_payment(kaspi_stub, payment_id)  # the worker's poll races too
        answers = race(stack, "racer", tx_id)
        # Every answer is one the contract names; never a 500.
        allowed = {(0, 200), (0, 409), (1, 200), (1, 409), (2, 202)}
        assert set(answers) <= allowed, answers
        rounds.append((tx_id, payment_id, paid_first, answers))

    def settled_down():
        return all(tx_status(app, tx_id) != "pending" for tx_id, *_ in rounds)

    wait_until(settled_down, timeout=60, message="every raced transaction settled")
    # Let queued settles and polls finish before judging.
    wait_until(lambda: _queue_empty(late_env), timeout=30, message="queue drained")
    for tx_id, payment_id, paid_first, _ in rounds:
        status = assert_invariants(app, kaspi_stub, tx_id, payment_id, quantity=2)
        if paid_first:
            assert status == "completed"
        else:
            assert status in ("completed", "canceled")  # a dev settle may win


def _queue_empty(env: dict[str, str]) -> bool:
    import redis

    return redis.Redis.from_url(env["REDIS_URL"]).llen("celery") == 0


def test_late_payment_is_found_by_the_running_sweep_and_granted(stack, app, kaspi_stub):
    body = post_intent(stack, "late-buyer")
    tx_id, payment_id = body["transaction_id"], body["payment"]["payment_id"]
    expire_payment(kaspi_stub, payment_id)
    wait_until(lambda: tx_status(app, tx_id) == "expired", timeout=60, message="expired")

    confirm_payment(kaspi_stub, payment_id, force=True)

    wait_until(lambda: tx_status(app, tx_id) == "completed", timeout=90, message="late grant")
    assert assert_invariants(app, kaspi_stub, tx_id, payment_id, quantity=1) == "completed"


def test_late_payment_under_the_refund_policy_is_returned(stack, app, kaspi_stub):
    with app.app_context():
        db.session.execute(update(BillingPolicy).values(late_payment_action="refund"))
        db.session.commit()
    body = post_intent(stack, "late-refund")
    tx_id, payment_id = body["transaction_id"], body["payment"]["payment_id"]
    cancel = requests.post(
        f"{stack}/api/billing/transactions/{tx_id}/cancel", headers=auth("late-refund"), timeout=30
    )
    assert cancel.json()["status"] == "canceled"

    # The cancel closed the link; a payment Kaspi confirms anyway (one in flight) is late money.
    confirm_payment(kaspi_stub, payment_id, force=True)

    wait_until(lambda: tx_status(app, tx_id) == "refunded", timeout=90, message="late refund")
    assert kaspi_paid(kaspi_stub, payment_id) == ("Processed", Decimal("1000.00"))
    assert assert_invariants(app, kaspi_stub, tx_id, payment_id, quantity=1) == "refunded"
