"""Operator CLI: clear messages and exit codes for the usual mistakes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path

import pytest

from app.billing.core.models import Transaction
from tests.conftest import auth

pytestmark = pytest.mark.db

ROOT = Path(__file__).resolve().parents[2]


def intent(client, user="buyer"):
    response = client.post(
        "/api/billing/purchase-intent",
        json={"product_code": "EVENT_UPGRADE_500"},
        headers=auth(user),
    )
    assert response.status_code == 201, response.get_json()
    return uuid.UUID(response.get_json()["transaction_id"])


def test_list_with_an_unknown_status_names_the_valid_ones(app, db_session):
    result = app.test_cli_runner().invoke(args=["billing", "list", "--status", "bogus"])
    assert result.exit_code == 2
    assert "'bogus' is not one of" in result.output
    for status in ("pending", "completed", "failed", "expired", "refunded"):
        assert status in result.output


def test_list_prints_iso_timestamps(app, client, db_session):
    intent(client)
    result = app.test_cli_runner().invoke(args=["billing", "list", "--status", "pending"])
    assert result.exit_code == 0, result.output
    stamp = result.output.split()[-1]
    assert datetime.fromisoformat(stamp).tzinfo is not None


@pytest.mark.parametrize("amount", ["-5", "0", "-0.01"])
def test_set_price_refuses_amounts_not_above_zero(app, db_session, amount):
    result = app.test_cli_runner().invoke(args=["billing", "set-price", "CLUB_50", amount])
    assert result.exit_code == 2
    assert "must be greater than zero" in result.output
    assert "No such option" not in result.output


def test_show_prints_iso_8601_timestamps(app, client, db_session):
    tx_id = intent(client)
    runner = app.test_cli_runner()
    runner.invoke(args=["billing", "settle", str(tx_id), "--outcome", "paid"])
    shown = json.loads(runner.invoke(args=["billing", "show", str(tx_id)]).output)
    for value in (shown["created_at"], shown["settled_at"], shown["events"][-1]["at"]):
        assert "T" in value and datetime.fromisoformat(value).tzinfo is not None
    assert shown["amount"] == "1000.00"


def test_refund_of_a_payment_settled_by_hand_says_so(app, client, db_session):
    tx_id = intent(client)
    runner = app.test_cli_runner()
    settled = runner.invoke(args=["billing", "settle", str(tx_id), "--outcome", "paid"])
    assert settled.exit_code == 0, settled.output
    refused = runner.invoke(args=["billing", "refund", str(tx_id), "--note", "asked"])
    assert refused.exit_code == 1
    assert "settled by hand" in refused.output and "Kaspi holds no payment" in refused.output
    assert db_session.get(Transaction, tx_id).status == "completed"


def test_a_missing_billing_env_is_one_line_not_a_traceback(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("BILLING_ENV", "AUTH_JWT_SECRET", "KASPI_API_KEY")
    }
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        [str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "billing", "list"],
        check=False,
        cwd=tmp_path,  # no .env here
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert "BILLING_ENV is unset" in result.stderr and "make run" in result.stderr
