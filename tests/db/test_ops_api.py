"""The operator console's API (/api/ops/...): the role check on every path, the
review queue, a transaction's story, resolve and refund through the CLI's services
with the operator and the reason audited, search and the summary (the real stub
over HTTP)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from app.auth.roles import OPERATOR
from app.auth.tokens import issue_token
from app.billing.core.models import OperatorAction, Transaction, TransactionRefund
from app.billing.settle import reconcile
from tests.conftest import JWT_SECRET, auth
from tests.db.test_refund_unknown import last_event, refunded_at_kaspi
from tests.support.purchases import credits_of, intent
from tests.support.stub_server import confirm_payment

pytestmark = pytest.mark.db

OPS = "ops-olga"


def ops_auth(user_id: str = OPS, roles: tuple[str, ...] = (OPERATOR,)) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(JWT_SECRET, user_id, 3600, roles=roles)}"}


def ops_paths(app) -> list[tuple[str, str]]:
    """Every (method, path) of the operator API, a random id in place of a parameter."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/ops/"):
            path = re.sub(r"<[^>]+>", str(uuid.uuid4()), rule.rule)
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                found.append((method, path))
    return found


def paid(client, db_session, kaspi_stub, *, quantity=2, user="buyer", amount=None):
    """A purchase Kaspi reports paid (``amount``: another sum than ours), checked once."""
    tx_id, payment_id = intent(client, user, quantity=quantity)
    confirm_payment(kaspi_stub, payment_id, amount=amount)
    reconcile.reconcile(tx_id)
    db_session.commit()
    return tx_id, payment_id


def actions_of(db_session, tx_id) -> list[OperatorAction]:
    db_session.expire_all()
    return list(
        db_session.scalars(
            select(OperatorAction)
            .where(OperatorAction.transaction_id == tx_id)
            .order_by(OperatorAction.id)
        )
    )


def test_every_ops_path_is_forbidden_to_a_buyer_and_needs_a_token(app, client):
    paths = ops_paths(app)
    assert {p for _, p in paths} >= {"/api/ops/transactions", "/api/ops/summary"}
    assert len(paths) == 6
    for method, path in paths:
        # A body that would not validate: the role is checked before the body is read.
        for headers in (auth("buyer"), ops_auth("buyer", roles=("billing_viewer",))):
            response = client.open(path, method=method, json={"bogus": 1}, headers=headers)
            assert response.status_code == 403, (method, path)
            assert response.get_json()["error"]["code"] == "FORBIDDEN"
        response = client.open(path, method=method, json={})
        assert response.status_code == 401, (method, path)


def test_a_wrong_amount_is_queued_explained_and_refunded_with_the_operator_audited(
    client, db_session, kaspi_stub
):
    tx_id, payment_id = paid(client, db_session, kaspi_stub, amount="1500.00")
    queue = client.get("/api/ops/review-queue", headers=ops_auth()).get_json()["items"]
    (item,) = [i for i in queue if i["transaction_id"] == str(tx_id)]
    assert (item["why"], item["amount"], item["provider_amount"]) == (
        "amount_mismatch",
        "2000.00",
        "1500.00",
    )
    assert "ours 2000.00, provider 1500.00" in item["reason"]

    story = client.get(f"/api/ops/transactions/{tx_id}", headers=ops_auth()).get_json()
    assert story["review"]["why"] == "amount_mismatch"
    assert [(e["from_status"], e["to_status"]) for e in story["events"]] == [
        (None, "pending"),
        ("pending", "needs_review"),
    ]
    assert story["events"][1]["provider_amount"] == "1500.00"

    done = actions_counted("resolve_refund", "done")
    response = client.post(
        f"/api/ops/transactions/{tx_id}/resolve",
        json={"action": "refund", "reason": "paid 1500 of 2000; returned"},
        headers=ops_auth(),
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "refunded"
    assert response.get_json()["refunded_amount"] == "1500.00"
    assert refunded_at_kaspi(kaspi_stub, payment_id) == Decimal("1500.00")
    assert actions_counted("resolve_refund", "done") == done + 1

    (action,) = actions_of(db_session, tx_id)
    assert (action.operator_id, action.action, action.outcome, action.reason) == (
        OPS,
        "resolve_refund",
        "done",
        "paid 1500 of 2000; returned",
    )
    assert action.detail == "now refunded" and action.finished_at is not None
    # The status change's own audit row names the operator too.
    event = last_event(db_session, tx_id)
    assert event.to_status == "refunded" and f"(operator {OPS})" in event.note

    after = client.get(f"/api/ops/transactions/{tx_id}", headers=ops_auth()).get_json()
    assert after["review"] is None
    assert [r["amount"] for r in after["refunds"]] == ["1500.00"]
    assert [(a["kind"], a["state"]) for a in after["refund_attempts"]] == [("review", "done")]
    assert after["operator_actions"][0]["operator_id"] == OPS
    queue = client.get("/api/ops/review-queue", headers=ops_auth()).get_json()["items"]
    assert str(tx_id) not in [i["transaction_id"] for i in queue]


def actions_counted(action: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "billing_operator_actions_total", {"action": action, "outcome": outcome}
    )
    return value or 0.0


def test_a_refund_moves_exactly_the_confirmed_amount_or_nothing(client, db_session, kaspi_stub):
    tx_id, payment_id = paid(client, db_session, kaspi_stub)
    story = client.get(f"/api/ops/transactions/{tx_id}", headers=ops_auth()).get_json()
    assert story["refundable"] == {"full": "2000.00", "unused": "2000.00", "unused_credits": 2}

    stale = client.post(
        f"/api/ops/transactions/{tx_id}/refund",
        json={"amount": "1999.99", "reason": "buyer asked"},
        headers=ops_auth(),
    )
    assert stale.status_code == 409
    assert stale.get_json()["error"]["code"] == "REFUND_REFUSED"
    assert "would return 2000.00" in stale.get_json()["error"]["message"]
    assert refunded_at_kaspi(kaspi_stub, payment_id) == Decimal("0")
    db_session.expire_all()
    assert db_session.get(Transaction, tx_id).status == "completed"
    assert [c.status for c in credits_of(db_session, tx_id)] == ["available", "available"]

    response = client.post(
        f"/api/ops/transactions/{tx_id}/refund",
        json={"amount": "2000.00", "reason": "buyer asked"},
        headers=ops_auth(),
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "refunded"
    assert refunded_at_kaspi(kaspi_stub, payment_id) == Decimal("2000.00")
    assert [(a.outcome, a.action) for a in actions_of(db_session, tx_id)] == [
        ("refused", "refund"),
        ("done", "refund"),
    ]
    assert actions_of(db_session, tx_id)[0].detail.startswith("REFUND_REFUSED")
    (row,) = db_session.scalars(
        select(TransactionRefund).where(TransactionRefund.transaction_id == tx_id)
    ).all()
    assert row.note == f"full refund; buyer asked (operator {OPS})"

    again = client.post(
        f"/api/ops/transactions/{tx_id}/refund",
        json={"reason": "twice"},
        headers=ops_auth(),
    )
    assert again.status_code == 409
    assert refunded_at_kaspi(kaspi_stub, payment_id) == Decimal("2000.00")


def test_the_unused_share_is_refunded_and_the_purchase_stays_completed(
    client, db_session, kaspi_stub
):
    tx_id, payment_id = paid(client, db_session, kaspi_stub, quantity=4)
    response = client.post(
        f"/api/ops/transactions/{tx_id}/refund",
        json={"unused": True, "amount": "4000.00", "reason": "all unused"},
        headers=ops_auth(),
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["refunded_amount"] == "4000.00"
    assert refunded_at_kaspi(kaspi_stub, payment_id) == Decimal("4000.00")
    assert actions_of(db_session, tx_id)[0].action == "refund_unused"


@pytest.mark.parametrize(
    "body",
    [
        {"action": "grant"},
        {"action": "grant", "reason": "   "},
        {"action": "sell", "reason": "why"},
        {"action": "grant", "reason": "x" * 501},
    ],
)
def test_bad_input_to_resolve_changes_nothing(client, db_session, kaspi_stub, body):
    tx_id, _ = paid(client, db_session, kaspi_stub, amount="1.00")
    response = client.post(f"/api/ops/transactions/{tx_id}/resolve", json=body, headers=ops_auth())
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "VALIDATION_ERROR"
    assert actions_of(db_session, tx_id) == []
    assert db_session.get(Transaction, tx_id).status == "needs_review"


def test_resolve_of_an_unknown_or_settled_transaction_is_refused(client, db_session, kaspi_stub):
    missing = client.post(
        f"/api/ops/transactions/{uuid.uuid4()}/resolve",
        json={"action": "grant", "reason": "x"},
        headers=ops_auth(),
    )
    assert missing.status_code == 404
    tx_id, _ = paid(client, db_session, kaspi_stub)
    response = client.post(
        f"/api/ops/transactions/{tx_id}/resolve",
        json={"action": "grant", "reason": "x"},
        headers=ops_auth(),
    )
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "RESOLVE_REFUSED"
    (action,) = actions_of(db_session, tx_id)
    assert (action.outcome, action.operator_id) == ("refused", OPS)


def test_a_resolve_from_the_cli_is_seen_by_the_console(app, client, db_session, kaspi_stub):
    tx_id, _ = paid(client, db_session, kaspi_stub, amount="2500.00")
    result = app.test_cli_runner().invoke(
        args=[
            "billing",
            "resolve",
            str(tx_id),
            "--grant",
            "--note",
            "overpaid; kept",
            "--by",
            "ivan",
        ]
    )
    assert result.exit_code == 0, result.output
    story = client.get(f"/api/ops/transactions/{tx_id}", headers=ops_auth()).get_json()
    assert story["transaction"]["status"] == "completed"
    assert story["events"][-1]["note"] == (
        "resolved by an operator: grant; overpaid; kept (operator ivan)"
    )
    # Audited as the console's actions are.
    assert [(a["operator_id"], a["action"], a["outcome"]) for a in story["operator_actions"]] == [
        ("ivan", "resolve_grant", "done")
    ]
    queue = client.get("/api/ops/review-queue", headers=ops_auth()).get_json()["items"]
    assert str(tx_id) not in [i["transaction_id"] for i in queue]


def test_a_refund_from_the_cli_needs_a_reason_and_names_who_ran_it(
    app, client, db_session, kaspi_stub
):
    tx_id, _ = paid(client, db_session, kaspi_stub)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["billing", "refund", str(tx_id)]).exit_code == 2  # no --note
    blank = runner.invoke(args=["billing", "refund", str(tx_id), "--note", "  "])
    assert blank.exit_code == 1 and "a reason is required" in blank.output
    assert actions_of(db_session, tx_id) == []
    db_session.commit()  # the test's read ends before the command's steps
    done = runner.invoke(args=["billing", "refund", str(tx_id), "--note", "buyer asked"])
    assert done.exit_code == 0, done.output
    assert done.output.strip() == f"{tx_id} refunded"
    (action,) = actions_of(db_session, tx_id)
    assert action.operator_id.startswith("cli:") and action.reason == "buyer asked"


def test_search_filters_and_pages(client, db_session, kaspi_stub):
    mine = [intent(client, "searched-user")[0] for _ in range(3)]
    intent(client, "someone-else")
    headers = ops_auth()
    first = client.get(
        "/api/ops/transactions?user_id=searched-user&limit=2", headers=headers
    ).get_json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = client.get(
        f"/api/ops/transactions?user_id=searched-user&limit=2&cursor={first['next_cursor']}",
        headers=headers,
    ).get_json()
    seen = [i["transaction_id"] for i in first["items"] + rest["items"]]
    assert seen == [str(t) for t in reversed(mine)] and rest["next_cursor"] is None

    payment_id = db_session.get(Transaction, mine[0]).provider_payment_id
    by_payment = client.get(
        f"/api/ops/transactions?payment_id={payment_id}", headers=headers
    ).get_json()
    assert [i["transaction_id"] for i in by_payment["items"]] == [str(mine[0])]
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    none = client.get(
        f"/api/ops/transactions?user_id=searched-user&from={later}", headers=headers
    ).get_json()
    assert none["items"] == []
    for bad in ("status=bogus", "limit=0", "cursor=!!", "from=2026-01-01T00:00:00"):
        response = client.get(f"/api/ops/transactions?{bad}", headers=headers)
        assert response.status_code == 400, bad


def test_the_summary_counts_and_draws_the_last_day(client, db_session, kaspi_stub):
    before = client.get("/api/ops/summary", headers=ops_auth()).get_json()
    paid(client, db_session, kaspi_stub, amount="5.00")  # held for review
    paid(client, db_session, kaspi_stub)  # settled: 2000.00 in
    intent(client)  # pending
    after = client.get("/api/ops/summary", headers=ops_auth()).get_json()
    for status, more in (("needs_review", 1), ("completed", 1), ("pending", 1)):
        assert after["by_status"][status] == before["by_status"][status] + more
    assert after["needs_review"]["count"] == before["needs_review"]["count"] + 1
    assert after["needs_review"]["oldest_age_s"] >= 0
    assert after["pending"]["count"] == before["pending"]["count"] + 1
    money_in = Decimal(after["today"]["money_in"]) - Decimal(before["today"]["money_in"])
    assert money_in == Decimal("2000.00")
    assert len(after["hours"]) == 24
    this_hour, previous = after["hours"][-1], before["hours"][-1]
    if this_hour["hour"] == previous["hour"]:  # not across the top of an hour
        assert this_hour["pending"] == previous["pending"] + 3
        assert this_hour["settled"] == previous["settled"] + 1
