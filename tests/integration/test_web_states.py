"""Every state a buyer can be in, in the browser: pending with Cancel, one pending
purchase per item, expired link, needs review, canceled, and the API unreachable.

Where the real stack cannot be put in a state on demand (a Kaspi link that has run
out, a provider answer held for review), the status answer is rewritten on its way
to the page with Playwright's routing; everything else is the real thing.
"""

from __future__ import annotations

import contextlib
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, Route, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from sqlalchemy import select

from app.billing.core.models import Transaction
from app.extensions import db
from tests.support.processes import wait_until
from tests.support.stub_server import confirm_payment
from tests.support.web import (
    SETTLE_TIMEOUT_MS,
    check_a11y,
    create_event,
    open_paywall,
    sign_in,
)
from tests.support.web_fixtures import *  # noqa: F403 - the browser fixtures

pytestmark = pytest.mark.integration

STATUS_URL = re.compile(r"/api/billing/transactions/[0-9a-f-]{36}$")
CANCEL_URL = re.compile(r"/api/billing/transactions/[0-9a-f-]{36}/cancel$")


def transactions(app) -> list[Transaction]:
    with app.app_context():
        rows = db.session.scalars(select(Transaction).order_by(Transaction.created_at)).all()
        db.session.expunge_all()
        return list(rows)


def rewrite_status(page: Page, *, status: str | None = None, payment: dict | None = None) -> None:
    """The real status answer, with another ``status`` or ``payment`` fields."""

    def handle(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        if status is not None:
            body["status"] = status
        if payment is not None:
            body["payment"] = {**(body.get("payment") or {}), **payment}
        route.fulfill(response=response, json=body)

    page.route(STATUS_URL, handle)


def unroute(page: Page) -> None:
    """Stop rewriting answers; a handler still running may find its request gone: fine."""
    page.unroute_all(behavior="ignoreErrors")


def start_purchase(page: Page, api: str, title: str, participants: int = 100):
    row, _event_id = create_event(page, title, participants)
    paywall = open_paywall(page, row)
    paywall.get_by_role("button", name=re.compile(r"^Buy for")).click()
    status = page.locator("#payment-status")
    expect(paywall.locator("#payment-id")).to_have_text(re.compile(r"^\d+$"))
    expect(status).to_have_attribute("data-state", "pending")
    return row, paywall, status


def test_expired_link_says_start_again(web_stack, open_context, app, shots, axe_js):
    api = web_stack
    page = open_context().new_page()
    sign_in(page, api)
    _row, paywall, status = start_purchase(page, api, "Late buyer's event")

    # Kaspi's link has run out (its expiry is in the past) while our TTL still runs.
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    rewrite_status(page, payment={"expires_at": past})
    expect(status).to_have_attribute("data-state", "link-expired")
    expect(status).to_contain_text("The payment link expired — start again")
    expect(paywall.locator("#payment-qr")).to_be_hidden()
    expect(paywall.get_by_role("link", name="Open the Kaspi payment page")).to_be_hidden()
    expect(paywall.get_by_role("button", name="Cancel payment")).to_be_hidden()
    check_a11y(page, axe_js, "link expired")
    shots.take(page, "link-expired")

    # The server's own `expired` says the same.
    paywall.get_by_role("button", name="Start again").click()
    expect(paywall.locator('[data-option="ONE_OFF_CREDIT"]')).to_be_visible()
    unroute(page)
    paywall.get_by_role("button", name=re.compile(r"^Buy for")).click()
    expect(status).to_have_attribute("data-state", "pending")
    rewrite_status(page, status="expired")
    expect(status).to_have_attribute("data-state", "expired")
    expect(status).to_contain_text("The payment link expired — start again")
    expect(paywall.get_by_role("button", name="Start again")).to_be_visible()
    # Two attempts, two transactions: a new attempt is a new Idempotency-Key.
    assert len(transactions(app)) == 2


def test_needs_review_says_nothing_more_to_do(web_stack, open_context, shots, axe_js):
    api = web_stack
    page = open_context().new_page()
    sign_in(page, api)
    _row, paywall, status = start_purchase(page, api, "Checked payment")
    rewrite_status(page, status="needs_review")
    expect(status).to_have_attribute("data-state", "needs_review")
    expect(status).to_contain_text("We are checking your payment")
    expect(status).to_contain_text("we are checking your payment; nothing more to do")
    expect(paywall.get_by_role("button", name="Cancel payment")).to_be_hidden()
    expect(paywall.get_by_role("button", name="Start again")).to_be_hidden()
    check_a11y(page, axe_js, "needs review")
    shots.take(page, "needs-review")


def test_api_unreachable_counts_down_and_check_now(
    web_stack, open_context, app, kaspi_stub, shots, axe_js
):
    """No ?poll_ms here: the API's own interval, so the countdown runs for seconds."""
    api = web_stack
    page = open_context().new_page()
    page.goto(f"{api}/?timeout_ms=700")
    page.locator("#demo-signin").click()
    expect(page.locator("#credits-summary")).not_to_have_attribute("data-available", "")
    _row, paywall, status = start_purchase(page, api, "Offline moment")
    [tx] = transactions(app)

    # A frozen API: the request never answers, and the page's timeout gives up on it.
    page.route(STATUS_URL, lambda route: None)
    problem = paywall.locator("#payment-problem")
    expect(problem).to_be_visible(timeout=20_000)
    expect(problem).to_contain_text(re.compile(r"Can't reach the server, retrying in \d+ s"))

    def seconds_left() -> int:
        return int(re.search(r"in (\d+) s", problem.inner_text()).group(1))

    # The countdown moves by itself, second by second, with no request answering.
    first = seconds_left()
    wait_until(lambda: seconds_left() < first, timeout=5, message="the countdown to move")
    check_a11y(page, axe_js, "unreachable")
    shots.take(page, "unreachable")

    # The buyer paid meanwhile; the API answers again and "Check now" shows it at once.
    confirm_payment(kaspi_stub, tx.provider_payment_id)
    unroute(page)
    page.route(STATUS_URL, lambda route: route.abort("connectionrefused"))
    paywall.get_by_role("button", name="Check now").click()
    expect(problem).to_contain_text("Can't reach the server")

    def settled() -> bool:
        with app.app_context():
            return db.session.get(Transaction, tx.id).status == "completed"

    # The API stays unreachable until the payment has settled (waiting through the
    # page, so its refused requests are answered), then Check now shows it at once.
    for _ in range(SETTLE_TIMEOUT_MS // 200):
        if settled():
            break
        page.wait_for_timeout(200)
    assert settled()
    unroute(page)
    check_now = paywall.get_by_role("button", name="Check now")
    with contextlib.suppress(PlaywrightTimeoutError):
        # Unless a scheduled retry got there in the instant between: then it is hidden.
        check_now.click(timeout=3_000)
    expect(status).to_have_attribute("data-state", "completed", timeout=5_000)
    expect(problem).to_be_hidden()


def test_one_pending_purchase_per_item_not_per_browser(web_stack, open_context, app, shots):
    api = web_stack
    page = open_context().new_page()
    sign_in(page, api)
    row_a, paywall, status = start_purchase(page, api, "Event A")
    id_a = paywall.locator("#payment-id").inner_text()
    page.keyboard.press("Escape")
    expect(page.locator("#purchase-banner")).to_contain_text("Event A")

    # Another event is another item: its paywall offers to buy, it isn't trapped by A.
    row_b, _ = create_event(page, "Event B", 120)
    row_b.locator("button.publish").click()
    expect(paywall.locator('[data-option="ONE_OFF_CREDIT"]')).to_be_visible()
    paywall.get_by_role("button", name=re.compile(r"^Buy for")).click()
    expect(paywall.locator("#payment-id")).not_to_have_text(id_a)
    expect(status).to_have_attribute("data-state", "pending")
    id_b = paywall.locator("#payment-id").inner_text()
    assert id_a != id_b
    page.keyboard.press("Escape")

    # The same item again shows its purchase in progress, not a second one.
    row_a.locator("button.publish").click()
    expect(paywall.locator("#payment-id")).to_have_text(id_a)
    assert [tx.status for tx in transactions(app)] == ["pending", "pending"]
    shots.take(page, "per-item")

    # Another browser of the same buyer sees both purchases from the server.
    other = open_context().new_page()
    sign_in(other, api)
    banner = other.locator("#purchase-banner")
    expect(banner.locator("li")).to_have_count(2)


def test_cancel_a_pending_purchase(web_stack, open_context, app, shots, axe_js):
    """Against the real POST /api/billing/transactions/<id>/cancel."""
    api = web_stack
    page = open_context().new_page()
    sign_in(page, api)
    _row, paywall, status = start_purchase(page, api, "Changed my mind")
    check_a11y(page, axe_js, "pending with cancel")
    paywall.get_by_role("button", name="Cancel payment").click()
    expect(status).to_have_attribute("data-state", "canceled")
    expect(status).to_contain_text("Payment canceled")
    expect(status).to_contain_text("No money was taken")
    expect(paywall.get_by_role("button", name="Start again")).to_be_visible()
    check_a11y(page, axe_js, "canceled")
    shots.take(page, "canceled")
    page.keyboard.press("Escape")
    expect(page.locator("#purchase-banner")).to_be_hidden()
    [tx] = transactions(app)
    assert tx.status == "canceled"


def test_cancel_answers_the_page_understands(web_stack, open_context, app, kaspi_stub):
    """The cancel endpoint's two other answers (its contract): 200 with `completed` when the
    buyer had paid after all, and 409 TRANSACTION_NOT_PENDING when it settled first."""
    api = web_stack
    page = open_context().new_page()
    sign_in(page, api)

    # A 200 answering `completed`: the page shows it paid, not canceled.
    _row, paywall, status = start_purchase(page, api, "Paid after all")

    def paid_after_all(route: Route) -> None:
        response = route.fetch(url=route.request.url.rsplit("/cancel", 1)[0], method="GET")
        body = response.json()
        body["status"] = "completed"
        route.fulfill(status=200, json=body)

    page.route(CANCEL_URL, paid_after_all)
    page.route(STATUS_URL, lambda route: route.abort("connectionrefused"))
    paywall.get_by_role("button", name="Cancel payment").click()
    expect(status).to_have_attribute("data-state", "completed")
    expect(paywall.get_by_role("button", name="Publish now")).to_be_visible()
    unroute(page)
    page.keyboard.press("Escape")

    # A 409: it had settled first; the page checks the status and shows how it ended.
    _row, paywall, status = start_purchase(page, api, "Paid while canceling")
    tx = transactions(app)[-1]
    page.route(STATUS_URL, lambda route: route.abort("connectionrefused"))
    page.route(
        CANCEL_URL,
        lambda route: route.fulfill(
            status=409,
            content_type="application/json",
            body=json.dumps(
                {
                    "error": {
                        "code": "TRANSACTION_NOT_PENDING",
                        "message": "x",
                        "status": "completed",
                    }
                }
            ),
        ),
    )
    confirm_payment(kaspi_stub, tx.provider_payment_id)
    paywall.get_by_role("button", name="Cancel payment").click()
    expect(page.locator("#paywall-error")).to_contain_text("already finished")
    unroute(page)
    expect(status).to_have_attribute("data-state", "completed", timeout=SETTLE_TIMEOUT_MS)
