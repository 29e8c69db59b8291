"""A fiscal worker killed with SIGKILL between the register's answer and our COMMIT:
the receipt is asked for again with the same external number, and the register's
receipt is recorded — one receipt, never two (real processes, real stub)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.billing.fiscal import issue
from app.billing.fiscal.models import Receipt
from app.billing.settle import reconcile
from app.db import edge
from app.extensions import db
from tests.conftest import auth
from tests.integration.conftest import service_env
from tests.support.fiscal_stub_server import issued_receipts, reset_register
from tests.support.stub_server import confirm_payment

pytestmark = pytest.mark.integration

# The worker: one sweep, killed the moment the register has answered, inside the step
# that would record the answer (before its COMMIT).
KILLED_WORKER = """
import os, signal
from app import create_app
from app.billing.fiscal import issue
from app.db import edge

def killed(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

issue._record_issued = killed
app = create_app()
with app.app_context(), edge(multi_step=True):
    issue.sweep()
"""


def test_a_worker_killed_before_its_commit_leaves_one_receipt(
    app, app_config, clean_db, kaspi_stub, fiscal_stub
):
    reset_register(fiscal_stub)
    client = app.test_client()
    answer = client.post(
        "/api/billing/purchase-intent",
        json={"product_code": "EVENT_UPGRADE_500", "quantity": 1},
        headers=auth("killed-worker-buyer"),
    )
    assert answer.status_code == 201, answer.get_json()
    tx_id = uuid.UUID(answer.get_json()["transaction_id"])
    confirm_payment(kaspi_stub, answer.get_json()["payment"]["payment_id"])
    with app.app_context(), edge(multi_step=True):
        assert reconcile.reconcile(tx_id) == "completed"

    env = service_env(app_config, KASPI_BASE_URL=kaspi_stub)
    worker = subprocess.run(
        [sys.executable, "-c", KILLED_WORKER],
        check=False,
        env=env,
        capture_output=True,
        timeout=60,
    )

    assert worker.returncode == -9, worker.stderr.decode()[-2000:]
    with app.app_context():
        receipt = db.session.scalars(select(Receipt).where(Receipt.transaction_id == tx_id)).one()
        assert receipt.state == "pending" and receipt.fiscal_number is None
        number = receipt.external_number
        db.session.remove()
    at_register = [r for r in issued_receipts(fiscal_stub) if r["ExternalCheckNumber"] == number]
    assert len(at_register) == 1  # the register issued it; we never recorded it

    # The claim's lease has run out (the sweep is told a later now): asked again.
    later = datetime.now(UTC) + timedelta(seconds=float(app.config["FISCAL_LEASE_S"]) + 1)
    with app.app_context(), edge(multi_step=True):
        assert issue.sweep(now=later).outcomes == ["repeated"]

    with app.app_context():
        receipt = db.session.scalars(select(Receipt).where(Receipt.transaction_id == tx_id)).one()
        assert receipt.state == "issued"
        assert receipt.fiscal_number == at_register[0]["CheckNumber"]
        db.session.remove()
    again = [r for r in issued_receipts(fiscal_stub) if r["ExternalCheckNumber"] == number]
    assert len(again) == 1
