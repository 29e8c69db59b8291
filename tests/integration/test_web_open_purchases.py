"""What a buyer trips over around an open purchase, in the browser, on the real stack:
a canceled purchase's Kaspi link is closed (and a late outcome is told), a second
browser shows the first one's payment instead of starting another, the page follows
a purchase whose dialog was closed, and a link Kaspi expires is shown at once.

The follow and expiry tests run with the status stream (API and stream process on
two ports, as `make run` does); the others on the web stack, which polls.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, Route, expect
from sqlalchemy import select

from app.billing.core.models import Transaction
from app.billing.settle import late
from app.extensions import db
from tests.integration import test_web_push
from tests.integration.test_web_push import push_stack  # noqa: F401 - the fixture
from tests.support.stub_server import confirm_payment, expire_payment
from tests.support.web import SETTLE_TIMEOUT_MS, check_a11y, create_event, open_paywall, sign_in
from tests.support.web_fixtures import *  # noqa: F403 - the browser fixtures

pytestmark = pytest.mark.integration

CANCEL_URL = re.compile(r"/api/billing/transactions/[0-9a-f-]{36}/cancel$")


def buy(page: Page, title: str, participants: int = 200):
    row, event_id = create_event(page, title, participants)
    paywall = open_paywall(page, row)
    paywall.get_by_role("button", name=re.compile(r"^Buy for")).click()
    status = page.locator("#payment-status")
    expect(status).to_have_attribute("data-state", "pending")
    expect(paywall.locator("#payment-id")).to_have_text(re.compile(r"^\d+$"))
    return row, event_id, paywall, status


def test_cancel_closes_the_kaspi_link_and_says_so(web_stack, open_context, axe_js, shots):
    api = web_stack
    page = open_context().new_page()
    sign_in(page, api)
    _row, _event_id, paywall, status = buy(page, "Canceled gala")
    with page.context.expect_page() as new_tab:
        paywall.get_by_role("link", name="Open the Kaspi payment page").click()
    kaspi = new_tab.value
    kaspi.wait_for_url(re.compile(r"/pay/\d+$"))
    expect(kaspi.get_by_role("button", name=re.compile(r"^Pay "))).to_be_visible()

    paywall.get_by_role("button", name="Cancel payment").click()

    expect(status).to_have_attribute("data-state", "canceled")
    expect(status).to_contain_text("the Kaspi link is closed: it can no longer be paid")
    check_a11y(page, axe_js, "canceled, link closed")
    # The Kaspi tab left open: pressing Pay there now takes no money.
    kaspi.get_by_role("button", name=re.compile(r"^Pay ")).click()
    expect(kaspi.get_by_role("alert")).to_contain_text("The merchant canceled this payment")
    expect(kaspi.get_by_role("button", name=re.compile(r"^Pay "))).to_have_count(0)
    shots.take(page, "canceled-link-closed")


def test_a_late_payment_after_a_cancel_reaches_the_page(web_stack, open_context, app, kaspi_stub):
    """Where Kaspi cannot close the link (here: the cancel's answer says so), the page
    says what happens if the buyer pays anyway, then tells the outcome when it comes."""
    api = web_stack
    page = open_context().new_page()
    sign_in(page, api)
    _row, _event_id, paywall, status = buy(page, "Paid anyway")
    payment_id = paywall.locator("#payment-id").inner_text()

    def link_stays_open(route: Route) -> None:
        response = route.fetch()
        route.fulfill(response=response, json={**response.json(), "link_closed": False})

    page.route(CANCEL_URL, link_stays_open)
    paywall.get_by_role("button", name="Cancel payment").click()
    expect(status).to_have_attribute("data-state", "canceled")
    expect(status).to_contain_text("if you pay there anyway, the money is not lost")
    page.keyboard.press("Escape")
    assert page.locator("#credits-summary").get_attribute("data-available") == "0"

    # Kaspi confirms the payment anyway; the late-payment check grants it (default policy).
    confirm_payment(kaspi_stub, payment_id, force=True)
    with app.app_context():
        tx_id = db.session.scalar(
            select(Transaction.id).where(Transaction.provider_payment_id == payment_id)
        )
        db.session.remove()
    with app.app_context():
        assert late.check_late(tx_id) == "completed"

    notice = page.locator("#late-notices [data-late]")
    expect(notice).to_have_attribute("data-late", "completed", timeout=SETTLE_TIMEOUT_MS)
    expect(notice).to_contain_text("A payment you canceled was made at Kaspi after all")
    expect(page.locator("#credits-summary")).to_have_attribute("data-available", "1")
    page.goto(f"{api}/#/history")
    expect(page.locator("#view-history")).to_contain_text("Paid")


def test_a_second_browser_shows_the_first_ones_payment(web_stack, open_context):
    api = web_stack
    browser_b = open_context().new_page()
    sign_in(browser_b, api)  # B is open before A starts: its sign-in found nothing
    browser_a = open_context().new_page()
    sign_in(browser_a, api)
    _row, event_id, paywall_a, status_a = buy(browser_a, "Shared event")
    payment_a = paywall_a.locator("#payment-id").inner_text()

    browser_b.reload()  # signed in again from the saved token: the server's pending list
    row_b = browser_b.locator(f'li.event[data-event-id="{event_id}"]')
    expect(row_b).to_be_visible()
    paywall_b = open_paywall(browser_b, row_b)
    expect(paywall_b.locator("#payment-id")).to_have_text(payment_a)
    expect(paywall_b.get_by_role("button", name=re.compile(r"^Buy for"))).to_be_hidden()
    status_b = browser_b.locator("#payment-status")
    expect(status_b).to_have_attribute("data-state", "pending")

    # A cancels: B's window, watching the same purchase, says so too.
    paywall_a.get_by_role("button", name="Cancel payment").click()
    expect(status_a).to_have_attribute("data-state", "canceled")
    expect(status_b).to_have_attribute("data-state", "canceled", timeout=SETTLE_TIMEOUT_MS)


def test_a_browser_that_knew_nothing_gets_the_open_purchase_from_the_server(
    web_stack, open_context
):
    """B signed in before A bought: B's Buy is refused by the server (409) with A's."""
    api = web_stack
    browser_a, browser_b = open_context().new_page(), open_context().new_page()
    sign_in(browser_a, api)
    row_a, event_id = create_event(browser_a, "Raced event", 200)
    sign_in(browser_b, api)
    row_b = browser_b.locator(f'li.event[data-event-id="{event_id}"]')
    paywall_b = open_paywall(browser_b, row_b)
    expect(paywall_b.get_by_role("button", name=re.compile(r"^Buy for"))).to_be_visible()

    paywall_a = open_paywall(browser_a, row_a)
    paywall_a.get_by_role("button", name=re.compile(r"^Buy for")).click()
    expect(paywall_a.locator("#payment-id")).to_have_text(re.compile(r"^\d+$"))
    payment_a = paywall_a.locator("#payment-id").inner_text()

    paywall_b.get_by_role("button", name=re.compile(r"^Buy for")).click()
    expect(paywall_b.locator("#payment-id")).to_have_text(payment_a)
    expect(browser_b.locator("#payment-status")).to_have_attribute("data-state", "pending")


def test_a_closed_window_still_follows_its_purchase(push_stack, open_context, kaspi_stub):  # noqa: F811
    api, _stream = push_stack
    page = open_context().new_page()
    sign_in(page, api)
    row, _event_id, paywall, _status = buy(page, "Background buy")
    payment_id = paywall.locator("#payment-id").inner_text()
    page.keyboard.press("Escape")
    banner = page.locator("#purchase-banner")
    expect(banner).to_contain_text("Background buy")

    confirm_payment(kaspi_stub, payment_id)

    # No reload, no "Show payment": the banner and the upgrades change by themselves.
    expect(banner.locator("li")).to_have_attribute(
        "data-state", "completed", timeout=SETTLE_TIMEOUT_MS
    )
    expect(banner).to_contain_text("Paid")
    expect(page.locator("#credits-summary")).to_have_attribute("data-available", "1")
    banner.get_by_role("button", name="Show payment").click()
    expect(page.locator("#payment-status")).to_have_attribute("data-state", "completed")
    page.get_by_role("button", name="Publish now").click()
    page.locator("#confirm-ok").click()
    expect(row).to_have_attribute("data-state", "published")
    expect(banner).to_be_hidden()


@pytest.fixture
def push_stack_with_margin(clean_db, app_config, kaspi_stub, tmp_path, monkeypatch):
    """The push stack with production's expiry margin: a link Kaspi expired leaves the
    transaction pending for minutes, so only the link's end can tell the buyer."""
    base = test_web_push.service_env

    def with_margin(config, **extra):
        return base(config, PROVIDER_EXPIRY_MARGIN_S="300", **extra)

    monkeypatch.setattr(test_web_push, "service_env", with_margin)
    yield from test_web_push._stack(app_config, kaspi_stub, tmp_path, stream_down=False)


def test_a_link_kaspi_expires_is_shown_at_once(push_stack_with_margin, open_context, kaspi_stub):
    api, _stream = push_stack_with_margin
    page = open_context().new_page()
    sign_in(page, api)
    _row, _event_id, paywall, status = buy(page, "Expiring link")
    payment_id = paywall.locator("#payment-id").inner_text()

    expire_payment(kaspi_stub, payment_id)  # Kaspi's ExpireDate moves to now

    # Either the link's end reaches the page first (link-expired), or the worker's next
    # check has already closed the transaction on Kaspi's word (expired): both tell the
    # buyer at once, never "Waiting for payment".
    expect(status).to_have_attribute(
        "data-state", re.compile(r"^(link-expired|expired)$"), timeout=SETTLE_TIMEOUT_MS
    )
    expect(status).to_contain_text("The payment link expired — start again")
