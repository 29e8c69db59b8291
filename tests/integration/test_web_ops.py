"""The operator console in the browser (Debian's Chromium, axe-core): a wrong-amount
payment forced at the stub appears in the review queue, is opened, refunded after a
confirmation that states the money, and leaves the queue; the buyer's history then
shows the refund. A buyer's token is refused at the console."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

import pytest
import requests
from playwright.sync_api import Page, expect

from app.billing.settle import reconcile
from app.db import edge
from tests.conftest import auth, token_for
from tests.integration.test_money_races import kaspi_paid, tx_status
from tests.support.stub_server import confirm_payment, reset_faults
from tests.support.web import POLL_MS, check_a11y, kzt, sign_in_as
from tests.support.web_fixtures import *  # noqa: F403 - the browser fixtures

pytestmark = pytest.mark.integration

BUYER = "ops-page-buyer"


@pytest.fixture
def stack(clean_db, api_server, kaspi_stub):
    reset_faults(kaspi_stub)
    yield api_server
    reset_faults(kaspi_stub)


def wrong_amount_payment(app, api: str, kaspi_stub: str, paid: str) -> tuple[str, str]:
    """The buyer pays ``paid`` for a 2000 ₸ purchase at the stub; the check holds it."""
    response = requests.post(
        f"{api}/api/billing/purchase-intent",
        json={"product_code": "EVENT_UPGRADE_500", "quantity": 2},
        headers=auth(BUYER),
        timeout=30,
    )
    assert response.status_code == 201, response.text
    tx_id, payment_id = response.json()["transaction_id"], response.json()["payment"]["payment_id"]
    confirm_payment(kaspi_stub, payment_id, amount=paid)
    with app.app_context(), edge(multi_step=True):
        reconcile.reconcile(uuid.UUID(tx_id))
    assert tx_status(app, tx_id) == "needs_review"
    return tx_id, payment_id


def operator_signs_in(page: Page, api: str) -> None:
    page.goto(f"{api}/ops")
    page.locator("#ops-demo-signin").click()
    expect(page.locator("#ops-user")).to_contain_text("demo-operator")
    expect(page.locator("#sum-review")).not_to_be_empty()


def test_a_wrong_amount_is_refunded_from_the_queue_and_the_buyer_sees_it(
    stack, app, kaspi_stub, open_context, axe_js, shots
):
    api = stack
    tx_id, payment_id = wrong_amount_payment(app, api, kaspi_stub, "1500.00")
    page = open_context().new_page()
    operator_signs_in(page, api)

    item = page.locator(f"#queue-list li[data-transaction-id='{tx_id}']")
    expect(item).to_have_attribute("data-why", "amount_mismatch")
    expect(item).to_contain_text(kzt("2000.00"))
    expect(item).to_contain_text(kzt("1500.00"))
    expect(page.locator("#chart svg rect.bar-pending")).to_have_count(24)
    check_a11y(page, axe_js, "queue")
    shots.take(page, "queue")

    item.get_by_role("button", name=re.compile(r"^Open transaction")).click()
    story = page.locator("#ops-story")
    expect(story).to_have_attribute("data-transaction-id", tx_id)
    expect(story).to_have_attribute("data-status", "needs_review")
    expect(page.locator("#story-title")).to_be_focused()
    expect(page.locator("#story-timeline li[data-to='needs_review']")).to_contain_text(
        kzt("1500.00")
    )
    check_a11y(page, axe_js, "story")

    # No reason, no action: the field says so and nothing is asked.
    page.locator("button[data-action='resolve_refund']").click()
    expect(page.locator("#act-reason-error")).to_be_visible()
    expect(page.locator("dialog#confirm")).not_to_be_visible()

    page.locator("#act-reason").fill("paid 1500 of 2000; returned to the buyer")
    page.locator("button[data-action='resolve_refund']").click()
    dialog = page.locator("dialog#confirm")
    expect(dialog).to_be_visible()
    expect(page.locator("#confirm-text")).to_contain_text(kzt("1500.00"))
    expect(page.locator("#confirm-go")).to_have_text(re.compile(r"^Return 1,500"))
    check_a11y(page, axe_js, "confirm")
    shots.take(page, "confirm")
    assert kaspi_paid(kaspi_stub, payment_id) == ("Processed", Decimal("0"))  # not before

    page.locator("#confirm-go").click()
    expect(dialog).not_to_be_visible()
    expect(story).to_have_attribute("data-status", "refunded")
    expect(page.locator(f"#queue-list li[data-transaction-id='{tx_id}']")).to_have_count(0)
    expect(page.locator("#story-actions")).to_contain_text("demo-operator")
    expect(page.locator("#story-refunds")).to_contain_text(kzt("1500.00"))
    check_a11y(page, axe_js, "refunded")
    assert kaspi_paid(kaspi_stub, payment_id) == ("Processed", Decimal("1500.00"))

    buyer = open_context().new_page()
    sign_in_as(buyer, api, BUYER)
    buyer.get_by_role("link", name="Purchases").click()
    row = buyer.locator(f"tr[data-tx='{tx_id}']")
    expect(row.locator("[data-status]")).to_have_attribute("data-status", "refunded")


def test_the_console_in_russian_searches_and_refuses_a_buyers_token(
    stack, app, kaspi_stub, open_context, axe_js
):
    api = stack
    tx_id, _ = wrong_amount_payment(app, api, kaspi_stub, "2500.00")
    page = open_context(locale="ru-RU").new_page()
    page.goto(f"{api}/ops?poll_ms={POLL_MS}")
    page.locator("#ops-token-input").fill(token_for(BUYER))
    page.locator("#ops-token-form button[type=submit]").click()
    expect(page.locator("#ops-signin-message")).to_contain_text("billing_operator")
    expect(page.locator("#ops-console")).to_be_hidden()

    page.locator("#ops-demo-signin").click()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.locator(f"#queue-list li[data-transaction-id='{tx_id}']")).to_contain_text(
        "Сумма не совпадает"
    )
    page.locator("#search-user").fill(BUYER)
    page.locator("#search-form button[type=submit]").click()
    expect(page.locator(f"#search-body tr[data-tx='{tx_id}'] [data-status]")).to_have_text(
        "needs_review"
    )
    check_a11y(page, axe_js, "ru search")
