"""Fiscal receipts: issued from the outbox's money facts through the cloud-register stub
(real HTTP, tests/support/fiscal_stub_server.py), never in the payment's path."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.billing.core.models import Credit, Transaction, TransactionEvent
from app.billing.fiscal import issue
from app.billing.fiscal.contents import Owed, check_request
from app.billing.fiscal.models import FiscalPosition, Receipt
from app.billing.fiscal.provider import get_register
from app.billing.operator import refunds, review
from app.billing.settle import reconcile
from app.events.models import Event
from app.webhooks.models import OutboxEvent
from tests.conftest import auth
from tests.support.fiscal_stub_server import (
    age_register_shift,
    expire_register_tokens,
    issued_receipts,
    register_state,
    reset_register,
    set_register_faults,
)
from tests.support.purchases import credits_of, intent
from tests.support.stub_server import confirm_payment

pytestmark = pytest.mark.db


@pytest.fixture
def register(fiscal_stub):
    reset_register(fiscal_stub)
    yield fiscal_stub
    reset_register(fiscal_stub)


@pytest.fixture
def quick_retries(app):
    """Three attempts, no waiting between them: the hold comes after the third."""
    before = app.config["FISCAL_RETRY_SCHEDULE_S"]
    app.config["FISCAL_RETRY_SCHEDULE_S"] = (0.0, 0.0, 0.0)
    yield
    app.config["FISCAL_RETRY_SCHEDULE_S"] = before


def paid(client, db_session, kaspi_stub, quantity: int = 1, user: str = "buyer") -> uuid.UUID:
    tx_id, payment_id = intent(client, user=user, quantity=quantity)
    confirm_payment(kaspi_stub, payment_id)
    assert reconcile.reconcile(tx_id) == "completed"
    db_session.commit()
    return tx_id


def sweep(db_session) -> issue.Round:
    """One round of the fiscal worker, after the test's own reads are ended (committed)."""
    db_session.commit()
    return issue.sweep()


def receipts(db_session, tx_id: uuid.UUID) -> list[Receipt]:
    db_session.expire_all()
    return list(
        db_session.scalars(
            select(Receipt).where(Receipt.transaction_id == tx_id).order_by(Receipt.id)
        )
    )


def at_register(base_url: str, receipt: Receipt) -> list[dict]:
    return [
        r for r in issued_receipts(base_url) if r["ExternalCheckNumber"] == receipt.external_number
    ]


def test_a_sale_gets_a_receipt_with_the_catalogs_price_vat_and_code(
    client, db_session, kaspi_stub, register
):
    tx_id = paid(client, db_session, kaspi_stub, quantity=3)
    assert receipts(db_session, tx_id) == []  # settling did not wait for the register

    round_ = sweep(db_session)

    assert round_.outcomes == ["issued"]
    [sale] = receipts(db_session, tx_id)
    assert (sale.kind, sale.state, sale.amount) == ("sale", "issued", Decimal("3000.00"))
    position = db_session.get(FiscalPosition, "EVENT_UPGRADE_500")
    [issued] = at_register(register, sale)
    assert issued["CheckNumber"] == sale.fiscal_number and issued["OperationType"] == 2
    [line] = issued["Body"]["Positions"]
    # 1000.00 each from the catalog; VAT 16 % inside the price: 3000 * 16 / 116.
    assert (line["Count"], line["Price"], line["TaxPercent"], line["Tax"]) == (
        3,
        1000.0,
        16.0,
        413.79,
    )
    assert line["TaxType"] == 100 and line["UnitCode"] == position.unit_code
    assert (line["PositionName"], line["PositionCode"]) == (
        position.position_name,
        position.catalogue_code,
    )
    assert issued["Body"]["Payments"] == [{"Sum": 3000.0, "PaymentType": 1}]

    body = client.get(f"/api/billing/transactions/{tx_id}", headers=auth("buyer")).get_json()
    assert body["receipts"] == [
        {
            "kind": "sale",
            "amount": "3000.00",
            "fiscal_number": sale.fiscal_number,
            "ticket_url": sale.ticket_url,
            "issued_at": body["receipts"][0]["issued_at"],
            "offline": False,
        }
    ]
    history = client.get("/api/billing/transactions", headers=auth("buyer")).get_json()
    assert history["items"][0]["receipts"] == body["receipts"]
    # The platform is told, in the COMMIT that recorded the receipt.
    told = db_session.scalars(select(OutboxEvent).where(OutboxEvent.type == "receipt.issued")).all()
    assert [(e.data["transaction_id"], e.data["fiscal_number"], e.data["kind"]) for e in told] == [
        (str(tx_id), sale.fiscal_number, "sale")
    ]
    # The buyer's receipt page at the register.
    import requests

    page = requests.get(sale.ticket_url, timeout=5)
    assert page.status_code == 200 and sale.fiscal_number in page.text


def consume(db_session, credit: Credit) -> Event:
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
    return event


def test_partial_then_full_refund_get_return_receipts_for_exactly_what_was_returned(
    client, db_session, kaspi_stub, register
):
    tx_id = paid(client, db_session, kaspi_stub, quantity=3)
    sweep(db_session)
    spent = credits_of(db_session, tx_id)[0]
    consume(db_session, spent)

    db_session.commit()
    refunds.refund_unused(tx_id)  # the two unused credits: 2000.00
    assert sweep(db_session).outcomes == ["issued"]

    sale, partial = receipts(db_session, tx_id)
    assert (partial.kind, partial.amount, partial.sale_receipt_id) == (
        "return",
        Decimal("2000.00"),
        sale.id,
    )
    [returned] = at_register(register, partial)
    assert returned["OperationType"] == 3
    assert [(p["Count"], p["Price"]) for p in returned["Body"]["Positions"]] == [(2, 1000.0)]

    # Test-only shortcut: the spent credit's event is gone and the credit is given back,
    # so the rest can be refunded in full.
    spent = db_session.get(Credit, spent.id)
    spent.status, spent.consumed_event_id, spent.consumed_at = "available", None, None
    db_session.commit()
    refunds.refund(tx_id)
    assert sweep(db_session).outcomes == ["issued"]

    kinds = [(r.kind, r.amount, r.state) for r in receipts(db_session, tx_id)]
    assert kinds == [
        ("sale", Decimal("3000.00"), "issued"),
        ("return", Decimal("2000.00"), "issued"),
        ("return", Decimal("1000.00"), "issued"),
    ]
    body = client.get(f"/api/billing/transactions/{tx_id}", headers=auth("buyer")).get_json()
    assert [(r["kind"], r["amount"]) for r in body["receipts"]] == [
        ("sale", "3000.00"),
        ("return", "2000.00"),
        ("return", "1000.00"),
    ]
    assert sweep(db_session).outcomes == []  # nothing is owed twice


def test_register_down_retries_then_holds_for_review_and_issues_once_back(
    client, db_session, kaspi_stub, register, quick_retries
):
    tx_id = paid(client, db_session, kaspi_stub)
    set_register_faults(register, down=1)

    outcomes = [sweep(db_session).outcomes for _ in range(3)]

    assert outcomes == [["unavailable"], ["unavailable"], ["held"]]
    [sale] = receipts(db_session, tx_id)
    assert (sale.state, sale.attempts, sale.held_at is not None) == ("pending", 3, True)
    tx = db_session.get(Transaction, tx_id)
    assert tx.status == "needs_review"
    note = db_session.scalars(
        select(TransactionEvent.note).where(
            TransactionEvent.transaction_id == tx_id, TransactionEvent.to_status == "needs_review"
        )
    ).one()
    assert note.startswith("receipt_failed: the sale receipt was not issued after 3 attempts")
    [held] = [item for item in review.queue() if item.transaction_id == tx_id]
    assert held.why == "receipt_failed"
    # Settlement is not taken back: the credit bought stays available.
    assert [c.status for c in credits_of(db_session, tx_id)] == ["available"]

    set_register_faults(register, down=0)
    assert sweep(db_session).outcomes == ["issued"]
    [sale] = receipts(db_session, tx_id)
    assert sale.state == "issued" and len(at_register(register, sale)) == 1

    # The operator resolves the hold: completed again, still one sale receipt.
    db_session.commit()
    review.resolve(tx_id, "grant", "the register was down; receipt issued since")
    db_session.expire_all()
    assert db_session.get(Transaction, tx_id).status == "completed"
    assert sweep(db_session).outcomes == []
    assert [r.kind for r in receipts(db_session, tx_id)] == ["sale"]


def test_an_answer_lost_before_our_commit_is_fetched_not_issued_again(
    client, db_session, kaspi_stub, register
):
    tx_id = paid(client, db_session, kaspi_stub)
    # The register issues it, and the worker dies before recording it: the row stays
    # pending, with the external number the register has already seen.
    from app.billing.fiscal.states import owe_receipts

    owe_receipts(since=datetime(2000, 1, 1, tzinfo=UTC))
    db_session.commit()
    [sale] = receipts(db_session, tx_id)
    tx = db_session.get(Transaction, tx_id)
    owed = Owed(
        "sale", sale.amount, tx.product_code, tx.quantity, tx.amount, sale.external_number, None
    )
    first = get_register().issue(check_request(owed))
    db_session.rollback()

    assert sweep(db_session).outcomes == ["repeated"]

    [sale] = receipts(db_session, tx_id)
    assert sale.fiscal_number == first.fiscal_number
    assert len(at_register(register, sale)) == 1


def test_an_expired_token_and_a_shift_over_24_hours_lose_no_receipt(
    client, db_session, kaspi_stub, register
):
    first = paid(client, db_session, kaspi_stub)
    assert sweep(db_session).outcomes == ["issued"]  # the adapter holds a token now
    second = paid(client, db_session, kaspi_stub)
    expire_register_tokens(register)
    age_register_shift(register, 25)
    closed_before = register_state(register)["ZReports"]

    assert sweep(db_session).outcomes == ["issued"]

    assert register_state(register)["ZReports"] == closed_before + 1
    for tx_id in (first, second):
        [sale] = receipts(db_session, tx_id)
        assert sale.state == "issued" and len(at_register(register, sale)) == 1


def test_an_offline_receipt_is_accepted_and_flagged(client, db_session, kaspi_stub, register):
    tx_id = paid(client, db_session, kaspi_stub)
    set_register_faults(register, offline=1)

    assert sweep(db_session).outcomes == ["issued"]

    body = client.get(f"/api/billing/transactions/{tx_id}", headers=auth("buyer")).get_json()
    assert [r["offline"] for r in body["receipts"]] == [True]


def test_receipts_check_finds_a_missing_receipt(app, client, db_session, kaspi_stub, register):
    runner = app.test_cli_runner()
    kept = paid(client, db_session, kaspi_stub)
    sweep(db_session)
    assert runner.invoke(args=["billing", "receipts", "check"]).exit_code == 0

    missing = paid(client, db_session, kaspi_stub, user="other-buyer")
    result = runner.invoke(args=["billing", "receipts", "check"])

    assert result.exit_code == 1, result.output
    assert str(missing) in result.output and str(kept) not in result.output
    assert "received 2000.00" in result.output and "fiscalized sales 1000.00" in result.output

    sweep(db_session)
    assert runner.invoke(args=["billing", "receipts", "check"]).exit_code == 0


def test_with_no_register_fiscalization_is_off_and_says_so(make_app):
    off = make_app(FISCAL_BASE_URL="")
    with off.app_context():
        assert issue.sweep().off is True
    body = off.test_client().get("/readyz").get_json()
    assert body["fiscal"]["enabled"] is False
    assert "fiscalization is off" in body["fiscal"]["detail"]


def test_receipts_and_the_oldest_unfiscalized_sale_are_measured(
    client, db_session, kaspi_stub, register
):
    from prometheus_client import REGISTRY

    from tests.db.test_metrics import scrape

    def issued_count() -> float:
        labels = {"kind": "sale", "outcome": "issued"}
        return REGISTRY.get_sample_value("billing_fiscal_receipts_total", labels) or 0.0

    paid(client, db_session, kaspi_stub)
    waiting = scrape(client)
    assert waiting["billing_fiscal_enabled"][()] == 1
    assert waiting["billing_fiscal_oldest_unfiscalized_sale_seconds"][()] > 0
    before = issued_count()

    sweep(db_session)

    assert issued_count() == before + 1
    done = scrape(client)
    assert done["billing_fiscal_oldest_unfiscalized_sale_seconds"][()] == 0
    assert done["billing_fiscal_receipts_pending"][()] == 0


def test_the_seller_and_positions_are_data_set_by_command(
    app, client, db_session, kaspi_stub, register
):
    from app.billing.fiscal.models import FiscalSeller

    runner = app.test_cli_runner()
    refused = {
        "a BIN is 12 digits": ["seller", "--bin", "12345", "--name", "X"],
        "a number of percent": [
            "seller",
            "--bin",
            "123456789012",
            "--name",
            "X",
            "--vat-rate",
            "x",
        ],
        "no product NO_SUCH": ["position", "NO_SUCH", "--name", "X", "--code", "1"],
    }
    for why, args in refused.items():
        result = runner.invoke(args=["billing", "receipts", *args])
        assert result.exit_code != 0 and why in result.output, (args, result.output)
    db_session.expire_all()
    assert db_session.get(FiscalSeller, 1).bin == "000000000000"  # bad input changed nothing
    db_session.commit()

    ok = runner.invoke(
        args=["billing", "receipts", "seller", "--bin", "987654321098", "--name", "Clubs LLP"]
    )
    assert ok.exit_code == 0, ok.output
    ok = runner.invoke(
        args=[
            "billing", "receipts", "position", "EVENT_UPGRADE_500",
            "--name", "Upgrade to 500", "--code", "777000111222333444",
        ]
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output

    tx_id = paid(client, db_session, kaspi_stub)
    sweep(db_session)

    [sale] = receipts(db_session, tx_id)
    [issued] = at_register(register, sale)
    [line] = issued["Body"]["Positions"]
    # Not a VAT payer now: no VAT on the receipt; the new name and code.
    assert (line["TaxPercent"], line["Tax"], line["TaxType"]) == (0, 0, 0)
    assert (line["PositionName"], line["PositionCode"]) == ("Upgrade to 500", "777000111222333444")


def test_a_late_payment_refunded_by_policy_gets_a_sale_and_a_return(
    app, client, db_session, kaspi_stub, register
):
    from tests.db.test_money_edges import expired_then_paid, set_policy
    from tests.db.test_money_edges import sweep as late_sweep

    set_policy(db_session, "refund")
    tx_id, _ = expired_then_paid(client, db_session, kaspi_stub)
    assert late_sweep(db_session)[tx_id] == "refunded"  # expired → refunded, never completed

    # The sale in one round; its return once the sale is issued, in the next.
    assert sweep(db_session).outcomes == ["issued"]
    assert sweep(db_session).outcomes == ["issued"]

    sale, returned = receipts(db_session, tx_id)
    assert (sale.kind, sale.amount, returned.kind, returned.amount) == (
        "sale",
        Decimal("1000.00"),
        "return",
        Decimal("1000.00"),
    )
    assert returned.sale_receipt_id == sale.id and sale.external_number != returned.external_number
    assert [r["OperationType"] for r in issued_receipts(register)][-2:] == [2, 3]
    db_session.commit()
    result = app.test_cli_runner().invoke(args=["billing", "receipts", "check"])
    assert result.exit_code == 0, result.output
