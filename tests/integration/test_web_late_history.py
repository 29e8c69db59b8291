"""A canceled purchase paid at Kaspi anyway: the late-payment check grants or returns
it by policy, and the buyer's purchase history shows that late outcome as an entry of
its own (in English and Russian), not only as a changed status."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Route, expect
from sqlalchemy import select, update

from app.billing.core.models import Transaction
from app.billing.settle import late
from app.catalog.models import BillingPolicy
from app.extensions import db
from tests.support.stub_server import confirm_payment
from tests.support.web import check_a11y, create_event, open_paywall, sign_in
from tests.support.web_fixtures import *  # noqa: F403 - the browser fixtures

pytestmark = pytest.mark.integration

CANCEL_URL = re.compile(r"/api/billing/transactions/[0-9a-f-]{36}/cancel$")

CASES = [
    # (policy, page language, outcome, the entry's words)
    (
        "grant",
        "en-US",
        "completed",
        "Paid at Kaspi after you canceled: what you bought was granted",
    ),
    ("refund", "ru-RU", "refunded", "Оплачено в Kaspi после вашей отмены: деньги возвращены вам"),
]


@pytest.mark.parametrize(("policy", "locale", "outcome", "words"), CASES, ids=["grant", "refund"])
def test_a_late_outcome_is_its_own_history_entry(
    web_stack, open_context, app, kaspi_stub, axe_js, shots, policy, locale, outcome, words
):
    api = web_stack
    with app.app_context():
        db.session.execute(update(BillingPolicy).values(late_payment_action=policy))
        db.session.commit()  # clean_db restores the catalog's policy
        db.session.remove()
    page = open_context(locale=locale).new_page()
    sign_in(page, api)
    row, _ = create_event(page, "Paid after cancel", 200)
    paywall = open_paywall(page, row)
    paywall.locator("button.buy").first.click()
    payment_id_node = paywall.locator("#payment-id")
    expect(payment_id_node).to_have_text(re.compile(r"^\d+$"))
    payment_id = payment_id_node.inner_text()

    # Where Kaspi cannot close the link, a buyer who cancels can still pay there.
    def link_stays_open(route: Route) -> None:
        response = route.fetch()
        route.fulfill(response=response, json={**response.json(), "link_closed": False})

    page.route(CANCEL_URL, link_stays_open)
    paywall.locator("#cancel-payment").click()
    expect(page.locator("#payment-status")).to_have_attribute("data-state", "canceled")
    page.keyboard.press("Escape")

    confirm_payment(kaspi_stub, payment_id, force=True)
    with app.app_context():
        tx_id = db.session.scalar(
            select(Transaction.id).where(Transaction.provider_payment_id == payment_id)
        )
        db.session.remove()
    with app.app_context():  # the sweep's check of this transaction, run here
        assert late.check_late(tx_id) == outcome
        db.session.remove()

    page.goto(f"{api}/#/history")
    entries = page.locator("#history-body tr")
    entry = page.locator(f'#history-body tr.late-entry[data-tx="{tx_id}"]')
    expect(entry).to_have_attribute("data-late", outcome)
    expect(entry).to_contain_text(words)
    expect(entries).to_have_count(2)  # the purchase, and its late outcome below it
    expect(entries.nth(0)).not_to_have_class(re.compile("late-entry"))
    check_a11y(page, axe_js, f"history with a late {outcome}")
    shots.take(page, f"history-late-{outcome}")
    entry.get_by_role("link").click()
    expect(page.locator('#receipt-facts [data-field="late"]')).to_have_text(words)
