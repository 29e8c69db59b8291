"""The page asks before it acts, so the expected refusals are never failed requests:
publishing that needs a payment, the purchase itself, publishing with an upgrade to
confirm and a free publish log no console error in Chromium (which logs every non-2xx
answer as "Failed to load resource")."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.extensions import db
from tests.support.factories import grant_credits, make_user
from tests.support.stub_server import confirm_payment
from tests.support.web import (
    DEMO_USER,
    SETTLE_TIMEOUT_MS,
    console_errors,
    create_event,
    open_paywall,
    sign_in,
)
from tests.support.web_fixtures import *  # noqa: F403 - the browser fixtures

pytestmark = pytest.mark.integration


def test_publish_and_buy_flows_log_no_console_error(web_stack, open_context, app, kaspi_stub):
    api = web_stack
    page = open_context().new_page()
    errors = console_errors(page)
    sign_in(page, api)

    # Publishing needs a payment: the paywall, from a 200 answer.
    row, _ = create_event(page, "Needs an upgrade", 200)
    paywall = open_paywall(page, row)
    expect(paywall.locator('[data-option="ONE_OFF_CREDIT"]')).to_be_visible()
    # The purchase, paid at Kaspi, then "Publish now" asks to confirm the upgrade.
    paywall.get_by_role("button", name=re.compile(r"^Buy for")).click()
    expect(paywall.locator("#payment-id")).to_have_text(re.compile(r"^\d+$"))
    confirm_payment(kaspi_stub, paywall.locator("#payment-id").inner_text())
    expect(paywall.locator("#payment-status")).to_have_attribute(
        "data-state", "completed", timeout=SETTLE_TIMEOUT_MS
    )
    paywall.get_by_role("button", name="Publish now").click()
    confirm = page.locator("dialog#confirm")
    expect(confirm).to_contain_text("This will use 1 event upgrade")
    confirm.get_by_role("button", name="Use 1 upgrade and publish").click()
    expect(row).to_have_attribute("data-state", "published")

    # Publishing with an upgrade already held: the confirmation, from a 200 answer.
    with app.app_context():
        grant_credits(make_user(DEMO_USER), 1)
        db.session.remove()
    page.reload()
    expect(page.locator("#credits-summary")).to_have_attribute("data-available", "1")
    held, _ = create_event(page, "Upgrade held", 300)
    held.locator("button.publish").click()
    expect(confirm).to_be_visible()
    confirm.get_by_role("button", name="Use 1 upgrade and publish").click()
    expect(held).to_have_attribute("data-state", "published")
    expect(held).to_contain_text("uses an event upgrade")

    # A free publish.
    free, _ = create_event(page, "Free one", 10)
    free.locator("button.publish").click()
    expect(free).to_have_attribute("data-state", "published")
    assert errors == [], errors
