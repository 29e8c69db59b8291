"""The paywall web client in a real browser, against the real stack: personal events.

Debian's Chromium (the system package, /usr/bin/chromium) is driven by Python
Playwright; gunicorn serves the API and the page, a Celery worker and beat
settle payments, and the Kaspi stub's pay page is clicked in a second tab.
Screenshots go to test-artifacts/web/; the README's pictures to docs/images/.
"""

from __future__ import annotations

import re
import uuid

import pytest
import requests
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from app.billing.core.models import Credit, IdempotencyRecord, Transaction
from app.events.models import Event
from app.extensions import db
from tests.conftest import auth
from tests.support.stub_server import confirm_payment
from tests.support.web import (
    DEMO_USER,
    PHONE,
    SETTLE_TIMEOUT_MS,
    check_a11y,
    create_event,
    doc_screenshot,
    kzt,
    open_paywall,
    sign_in,
)
from tests.support.web_fixtures import *  # noqa: F403 - the browser fixtures

pytestmark = pytest.mark.integration


def catalog(api: str) -> dict:
    response = requests.get(f"{api}/api/billing/products", timeout=10)
    response.raise_for_status()
    return response.json()


def api_get(api: str, path: str, **params) -> dict:
    response = requests.get(f"{api}{path}", params=params, headers=auth(DEMO_USER), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def transactions(app) -> list[Transaction]:
    with app.app_context():
        rows = db.session.scalars(select(Transaction).order_by(Transaction.created_at)).all()
        db.session.expunge_all()
        return list(rows)


def credits(app) -> list[Credit]:
    with app.app_context():
        rows = db.session.scalars(select(Credit)).all()
        db.session.expunge_all()
        return list(rows)


def open_kaspi_from_link(page: Page, paywall) -> Page:
    """On a desktop the QR code is shown; the buyer here opens the link instead."""
    with page.context.expect_page() as new_tab:
        paywall.get_by_role("link", name="Open the Kaspi payment page").click()
    kaspi = new_tab.value
    kaspi.wait_for_url(re.compile(r"/pay/\d+$"))
    return kaspi


def test_pay_on_kaspi_then_publish_with_the_upgrade(web_stack, open_context, app, shots, axe_js):
    api = web_stack
    product = next(p for p in catalog(api)["products"] if p["code"] == "EVENT_UPGRADE_500")
    page = open_context().new_page()
    sign_in(page, api)
    expect(page.locator("#credits-summary")).to_have_attribute("data-available", "0")
    check_a11y(page, axe_js, "home")
    row, event_id = create_event(page, "Almaty tech meetup", 200)
    expect(row).to_contain_text("Up to 200 participants")

    paywall = open_paywall(page, row)
    expect(paywall).to_contain_text("Free events allow up to 15 participants; this one has 200")
    one_off = paywall.locator('[data-option="ONE_OFF_CREDIT"]')
    expect(one_off).to_have_attribute("data-amount", product["price"]["amount"])
    expect(one_off).to_contain_text(kzt(product["price"]["amount"]))
    expect(one_off).to_contain_text("1,000 ₸")
    expect(one_off).not_to_contain_text(".00")
    club = paywall.locator('[data-option="CLUB_ACCESS"]')
    # A personal event can't hold a club plan: the way forward is offered, not a dead button.
    expect(club.get_by_role("button", name="Create it as a club event")).to_be_enabled()
    check_a11y(page, axe_js, "paywall options")
    shots.take(page, "paywall")
    doc_screenshot(page, "paywall-modal.png")

    paywall.get_by_role("button", name=re.compile(r"^Buy for")).click()
    status = page.locator("#payment-status")
    expect(status).to_have_attribute("data-state", "pending")
    expect(status).to_contain_text("Waiting for payment")
    # Desktop: the QR code of the Kaspi link, drawn by the server.
    qr = paywall.locator("#payment-qr")
    expect(qr).to_be_visible()
    # The image is an SVG the server drew (it loads, at a scannable size).
    page.wait_for_function("() => document.getElementById('payment-qr').naturalWidth > 50")
    [tx] = transactions(app)
    expect(paywall.locator("#payment-id")).to_have_text(tx.provider_payment_id)
    check_a11y(page, axe_js, "pending with QR")
    kaspi = open_kaspi_from_link(page, paywall)
    expect(kaspi.locator(".amount")).to_contain_text(re.compile(r"1\s?000"))
    kaspi.get_by_role("button", name=re.compile(r"^Pay ")).click()
    expect(kaspi.get_by_role("alert")).to_contain_text("Payment confirmed")

    # The dialog learns it by watching the status; nothing is reloaded.
    expect(status).to_have_attribute("data-state", "completed", timeout=SETTLE_TIMEOUT_MS)
    expect(page.locator("#paywall-title")).to_have_text("Payment received")
    expect(page.locator("#credits-summary")).to_have_attribute("data-available", "1")
    check_a11y(page, axe_js, "paid")
    shots.take(page, "paid")

    paywall.get_by_role("button", name="Publish now").click()
    confirm = page.locator("dialog#confirm")
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text("This will use 1 event upgrade")
    expect(paywall).to_be_hidden()
    expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
    check_a11y(page, axe_js, "confirm credit")
    confirm.get_by_role("button", name="Use 1 upgrade and publish").click()
    expect(confirm).to_be_hidden()
    expect(row).to_have_attribute("data-state", "published")
    expect(row).to_contain_text("uses an event upgrade")
    expect(row.locator("button.publish")).to_have_count(0)
    expect(page.locator("#credits-summary")).to_have_attribute("data-available", "0")
    shots.take(page, "published")

    event = api_get(api, f"/api/events/{event_id}")
    assert event["published_at"] and event["upgraded_by_credit"] is True
    [tx] = transactions(app)
    assert (tx.status, tx.user_id, tx.product_code) == ("completed", DEMO_USER, "EVENT_UPGRADE_500")
    [credit] = credits(app)
    assert credit.status == "consumed" and credit.consumed_event_id == uuid.UUID(event_id)
    with app.app_context():
        stored = db.session.get(Event, uuid.UUID(event_id))
        assert stored.published_at is not None and stored.upgraded_by_credit


def test_declined_payment_ends_failed_with_no_upgrade(web_stack, open_context, app, shots, axe_js):
    api = web_stack
    page = open_context().new_page()
    sign_in(page, api)
    row, event_id = create_event(page, "Declined workshop", 120)
    paywall = open_paywall(page, row)
    paywall.get_by_role("button", name=re.compile(r"^Buy for")).click()
    kaspi = open_kaspi_from_link(page, paywall)
    kaspi.get_by_role("button", name="Decline payment").click()
    expect(kaspi.get_by_role("alert")).to_contain_text("declined")

    status = page.locator("#payment-status")
    expect(status).to_have_attribute("data-state", "failed", timeout=SETTLE_TIMEOUT_MS)
    expect(status).to_contain_text("Payment declined")
    expect(status).to_contain_text("No money was taken")
    expect(paywall.get_by_role("button", name="Publish now")).to_be_hidden()
    expect(paywall.get_by_role("button", name="Cancel payment")).to_be_hidden()
    expect(paywall.get_by_role("link", name="Open the Kaspi payment page")).to_be_hidden()
    check_a11y(page, axe_js, "declined")
    shots.take(page, "failed")

    # Start again: the options come back, and a new purchase is a new transaction.
    paywall.get_by_role("button", name="Start again").click()
    expect(paywall.locator('[data-option="ONE_OFF_CREDIT"]')).to_be_visible()
    # Escape closes the dialog and focus goes back to the Publish button that opened it.
    page.keyboard.press("Escape")
    expect(paywall).to_be_hidden()
    expect(row.locator("button.publish")).to_be_focused()
    expect(page.locator("#purchase-banner")).to_be_hidden()
    [tx] = transactions(app)
    assert tx.status == "failed"
    assert credits(app) == []
    assert api_get(api, f"/api/events/{event_id}")["published_at"] is None


def test_phone_double_click_buys_once_and_a_reload_resumes(
    web_stack, open_context, app, kaspi_stub, shots, axe_js
):
    """390x844: the Kaspi link (no QR), one transaction for a double click, and after a
    reload the pending payment comes back and is watched again."""
    api = web_stack
    page = open_context(PHONE).new_page()
    sign_in(page, api)
    row, _event_id = create_event(page, "Phone-made concert", 300)
    paywall = open_paywall(page, row)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    check_a11y(page, axe_js, "phone paywall")
    shots.take(page, "paywall-390px")

    buy = paywall.get_by_role("button", name=re.compile(r"^Buy for"))
    with page.context.expect_page() as new_tab:
        buy.dblclick()
    kaspi = new_tab.value
    kaspi.wait_for_url(re.compile(r"/pay/\d+$"))
    status = page.locator("#payment-status")
    expect(status).to_have_attribute("data-state", "pending")
    expect(paywall.locator("#payment-qr")).to_be_hidden()
    expect(paywall.get_by_role("link", name="Open the Kaspi payment page")).to_be_visible()
    [tx] = transactions(app)
    with app.app_context():
        keys = db.session.scalar(select(func.count()).select_from(IdempotencyRecord))
    assert keys == 1
    check_a11y(page, axe_js, "phone pending")

    # The status endpoint fails for a while (500): the page says so and keeps the purchase.
    page.route(
        re.compile(r"/api/billing/transactions/[0-9a-f-]{36}$"),
        lambda route: route.fulfill(
            status=500,
            content_type="application/json",
            body='{"error": {"code": "INTERNAL_ERROR", "message": "Internal server error"}}',
        ),
    )
    page.reload()
    expect(page.locator("#purchase-banner")).to_be_visible()
    expect(page.locator("#purchase-banner")).to_contain_text("Phone-made concert")
    # Publishing the same event shows the purchase in progress, not a second one.
    row.locator("button.publish").click()
    expect(status).to_have_attribute("data-state", "pending")
    expect(paywall.locator("#payment-id")).to_have_text(tx.provider_payment_id)
    problem = paywall.locator("#payment-problem")
    expect(problem).to_contain_text(re.compile(r"The server is having trouble, retrying in \d+ s"))
    page.unroute_all(behavior="ignoreErrors")
    # The next retry gets through by itself (Check now is tested with the network down).
    expect(problem).to_be_hidden(timeout=10_000)

    confirm_payment(kaspi_stub, tx.provider_payment_id)
    expect(status).to_have_attribute("data-state", "completed", timeout=SETTLE_TIMEOUT_MS)
    expect(paywall.get_by_role("button", name="Publish now")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shots.take(page, "paid-390px")
    assert len(transactions(app)) == 1
    assert [c.status for c in credits(app)] == ["available"]
