"""Enlarging a published free event in the browser, on the real stack: the edit asks
what it needs, the page offers the event upgrade (not "get a plan first"), and after
paying at Kaspi an explicit confirmation binds the credit with the new size."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.billing.core.models import Credit
from app.extensions import db
from tests.support.stub_server import confirm_payment
from tests.support.web import SETTLE_TIMEOUT_MS, check_a11y, console_errors, create_event, sign_in
from tests.support.web_fixtures import *  # noqa: F403 - the browser fixtures

pytestmark = pytest.mark.integration


def test_a_published_free_event_is_enlarged_with_a_bought_upgrade(
    web_stack, open_context, app, kaspi_stub, axe_js, shots
):
    api = web_stack
    page = open_context().new_page()
    errors = console_errors(page)
    sign_in(page, api)
    row, event_id = create_event(page, "Picnic that grew", 10)
    row.locator("button.publish").click()
    expect(row).to_have_attribute("data-state", "published")

    row.get_by_role("button", name="Edit").click()
    page.locator("#edit-max").fill("200")
    page.locator("#edit-form button[type=submit]").click()
    paywall = page.locator("dialog#paywall")
    expect(paywall).to_be_visible()
    expect(page.locator("dialog#edit-dialog")).to_be_hidden()
    expect(page.locator("#paywall-title")).to_have_text("Upgrade to enlarge")
    expect(paywall.locator("#paywall-subject")).to_contain_text("200")
    expect(paywall.locator("#paywall-message")).to_contain_text("Free events allow up to 15")
    expect(paywall).not_to_contain_text("get a plan first")
    check_a11y(page, axe_js, "paywall for enlarging a published event")
    # Nothing changed by asking: the event keeps its size until the upgrade is confirmed.
    expect(row).to_contain_text("Up to 10 participants")

    paywall.get_by_role("button", name=re.compile(r"^Buy for")).click()
    expect(paywall.locator("#payment-id")).to_have_text(re.compile(r"^\d+$"))
    expect(page.locator("#paywall-title")).to_have_text("Upgrade to enlarge")
    confirm_payment(kaspi_stub, paywall.locator("#payment-id").inner_text())
    status = paywall.locator("#payment-status")
    expect(status).to_have_attribute("data-state", "completed", timeout=SETTLE_TIMEOUT_MS)
    apply = paywall.get_by_role("button", name="Apply the new size")
    expect(apply).to_be_visible()
    apply.click()

    confirm = page.locator("dialog#confirm")
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text("so that the published “Picnic that grew” can take up to 200")
    check_a11y(page, axe_js, "confirm the upgrade for enlarging")
    shots.take(page, "enlarge-confirm")
    confirm.get_by_role("button", name="Use 1 upgrade and save").click()
    expect(confirm).to_be_hidden()
    expect(row).to_contain_text("Up to 200 participants")
    expect(row).to_contain_text("uses an event upgrade")
    expect(page.locator("#credits-summary")).to_have_attribute("data-available", "0")

    with app.app_context():
        bound = db.session.scalars(select(Credit.consumed_event_id)).all()
        db.session.remove()
    assert [str(e) for e in bound] == [event_id]
    assert errors == [], errors
