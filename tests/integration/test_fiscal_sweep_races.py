"""Fiscal sweeps racing: three workers' rounds at once over the same owed receipts issue
each one once (the claim's FOR UPDATE SKIP LOCKED and lease), never twice."""

from __future__ import annotations

import threading
import uuid
from collections import Counter

import pytest
from sqlalchemy import select

from app.billing.fiscal import issue
from app.billing.fiscal.models import Receipt
from app.billing.settle import reconcile
from app.db import edge
from app.extensions import db
from tests.conftest import auth
from tests.support.fiscal_stub_server import issued_receipts, reset_register
from tests.support.stub_server import confirm_payment

pytestmark = pytest.mark.integration

SALES = 9


def paid(app, kaspi_stub, user: str) -> uuid.UUID:
    answer = app.test_client().post(
        "/api/billing/purchase-intent",
        json={"product_code": "EVENT_UPGRADE_500", "quantity": 1},
        headers=auth(user),
    )
    assert answer.status_code == 201, answer.get_json()
    tx_id = uuid.UUID(answer.get_json()["transaction_id"])
    confirm_payment(kaspi_stub, answer.get_json()["payment"]["payment_id"])
    with app.app_context(), edge(multi_step=True):
        assert reconcile.reconcile(tx_id) == "completed"
    return tx_id


@pytest.fixture
def batch_of_three(app):
    """Each round claims three: three rounds at once must split the nine between them."""
    before = app.config["FISCAL_BATCH"]
    app.config["FISCAL_BATCH"] = SALES // 3
    yield
    app.config["FISCAL_BATCH"] = before


def test_racing_sweeps_issue_each_receipt_once(
    app, clean_db, kaspi_stub, fiscal_stub, batch_of_three
):
    reset_register(fiscal_stub)
    tx_ids = {paid(app, kaspi_stub, f"race-buyer-{n}") for n in range(SALES)}
    start = threading.Barrier(3)
    outcomes: Counter[str] = Counter()
    rounds: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            start.wait(timeout=10)
            with app.app_context(), edge(multi_step=True):
                got = issue.sweep().outcomes
            with lock:
                outcomes.update(got)
                rounds.append(len(got))
        except BaseException as exc:  # reported below, with the thread's own error
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    # Every owed receipt was claimed by exactly one round: none asked twice.
    assert outcomes == Counter({"issued": SALES}) and rounds == [3, 3, 3]
    with app.app_context():
        rows = db.session.scalars(select(Receipt).where(Receipt.transaction_id.in_(tx_ids))).all()
        numbers = {r.external_number for r in rows}
        assert len(rows) == SALES and {r.state for r in rows} == {"issued"}
        db.session.remove()
    at_register = Counter(
        r["ExternalCheckNumber"]
        for r in issued_receipts(fiscal_stub)
        if r["ExternalCheckNumber"] in numbers
    )
    assert sorted(at_register.values()) == [1] * SALES
