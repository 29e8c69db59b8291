"""The Webkassa-shaped adapter against the cloud-register stub over real HTTP: what it
recovers by itself (an expired token, a shift over 24 hours, a repeated external
number) and how it reports what it cannot (refusals, no answer)."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from app.billing.fiscal import issue
from app.billing.fiscal.register import (
    CheckRequest,
    Operation,
    Position,
    RegisterRefused,
    RegisterUnavailable,
)
from app.billing.fiscal.webkassa import WebkassaRegister
from tests.support.fiscal_stub_server import (
    FISCAL_CASHBOX,
    FISCAL_LOGIN,
    FISCAL_PASSWORD,
    age_register_shift,
    expire_register_tokens,
    issued_receipts,
    register_state,
    reset_register,
    set_register_faults,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def stub(fiscal_stub):
    reset_register(fiscal_stub)
    yield fiscal_stub
    reset_register(fiscal_stub)


def adapter(base_url: str, password: str = FISCAL_PASSWORD, timeout_s: float = 2.0):
    return WebkassaRegister(base_url, FISCAL_LOGIN, password, FISCAL_CASHBOX, timeout_s=timeout_s)


def sale(total: str = "1000.00", *, payments: str | None = None) -> CheckRequest:
    amount = Decimal(total)
    return CheckRequest(
        operation=Operation.SALE,
        external_number=str(uuid.uuid4()),
        positions=(
            Position(
                name="Event upgrade",
                code="000000000000000001",
                count=Decimal(1),
                price=Decimal(payments or total),
                tax_percent=Decimal("16.00"),
                tax=Decimal("137.93"),
                unit_code=5114,
            ),
        ),
        total=amount,
        customer_email="buyer@example.kz",
    )


def count_at(stub: str, external_number: str) -> int:
    return sum(1 for r in issued_receipts(stub) if r["ExternalCheckNumber"] == external_number)


def test_a_sale_is_issued_with_the_registers_numbers(stub):
    check = sale()
    issued = adapter(stub).issue(check)

    assert issued.fiscal_number.isdigit() and not issued.offline and not issued.repeated
    assert issued.ticket_url == f"{stub}/ticket/{issued.fiscal_number}"
    assert issued.registration_number and issued.ofd_host == "consumer.oofd.kz"
    [stored] = [
        r for r in issued_receipts(stub) if r["ExternalCheckNumber"] == check.external_number
    ]
    assert stored["Body"]["CustomerEmail"] == "buyer@example.kz"
    assert stored["Body"]["Positions"][0]["Price"] == 1000.0  # exact text, not a float's


def test_the_same_external_number_answers_the_receipt_already_issued(stub):
    check = sale()
    first, again = adapter(stub).issue(check), adapter(stub).issue(check)

    assert again.repeated and again.fiscal_number == first.fiscal_number
    assert count_at(stub, check.external_number) == 1


def test_an_expired_token_is_renewed_once_and_the_call_repeated(stub):
    register = adapter(stub)
    register.issue(sale())
    assert expire_register_tokens(stub) >= 1

    check = sale()
    assert register.issue(check).fiscal_number
    assert count_at(stub, check.external_number) == 1


def test_a_shift_over_24_hours_is_closed_and_the_sale_repeated(stub):
    register = adapter(stub)
    register.issue(sale())
    age_register_shift(stub, 24.5)
    before = register_state(stub)["ZReports"]

    check = sale()
    register.issue(check)

    assert register_state(stub)["ZReports"] == before + 1
    assert count_at(stub, check.external_number) == 1


def test_refusals_and_silence_are_told_apart(stub):
    with pytest.raises(RegisterRefused) as wrong_password:
        adapter(stub, password="wrong").issue(sale())
    assert wrong_password.value.code == 1
    with pytest.raises(RegisterRefused) as totals:
        adapter(stub).issue(sale("1000.00", payments="999.00"))
    assert totals.value.code == 4
    set_register_faults(stub, fail_next=1)
    with pytest.raises(RegisterUnavailable):
        adapter(stub).issue(sale())
    with pytest.raises(RegisterUnavailable):
        adapter("http://127.0.0.1:9", timeout_s=0.5).issue(sale())


def test_an_answer_later_than_the_budget_is_unknown_and_the_retry_finds_it(stub):
    impatient = adapter(stub, timeout_s=0.5)
    impatient.issue(sale())  # signed in while the register is quick
    check = sale()
    set_register_faults(stub, latency_ms=1500)
    with pytest.raises(RegisterUnavailable):
        impatient.issue(check)
    set_register_faults(stub, latency_ms=0)

    again = impatient.issue(check)

    assert again.repeated and count_at(stub, check.external_number) == 1


def test_the_scheduled_task_closes_the_shift(app, stub):
    before = register_state(stub)["ZReports"]
    with app.app_context():
        assert issue.close_shift() == "closed"
    assert register_state(stub)["ZReports"] == before + 1
