"""The API away and back, in the browser: a failed load is not an empty account, and a
purchase's outage recovery notices the server's return without the wait growing.

"Away" is every request to the API refused by Playwright's routing (the page itself is
already loaded, as after a reload served from cache or a proxy)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.support.web import check_a11y, create_event, open_paywall, sign_in
from tests.support.web_fixtures import *  # noqa: F403 - the browser fixtures

pytestmark = pytest.mark.integration

API = re.compile(r"/(api/|healthz)")


def api_down(page: Page) -> None:
    page.route(API, lambda route: route.abort("connectionrefused"))


def api_up(page: Page) -> None:
    page.unroute_all(behavior="ignoreErrors")


def test_a_failed_load_says_so_offers_retry_and_recovers_by_itself(
    web_stack, open_context, axe_js, shots
):
    api = web_stack
    page = open_context().new_page()
    sign_in(page, api)
    create_event(page, "Still here", 40)

    api_down(page)
    page.reload()

    error = page.locator("#page-error")
    expect(error).to_be_visible()
    expect(page.get_by_role("button", name="Retry")).to_be_visible()
    # Not an empty account: no "No events yet", and the upgrades say they did not load.
    expect(page.locator("#events-empty")).to_be_hidden()
    expect(page.locator("#credits-summary")).to_have_text("Your upgrades could not be loaded.")
    check_a11y(page, axe_js, "load failed")
    shots.take(page, "load-failed")
    # Retry while still away: still the same honest state.
    page.get_by_role("button", name="Retry").click()
    expect(error).to_be_visible()

    api_up(page)

    # Back by itself (its next automatic try), with nothing pressed.
    expect(page.locator("li.event", has_text="Still here")).to_be_visible(timeout=40_000)
    expect(error).to_be_hidden()
    expect(page.get_by_role("button", name="Retry")).to_be_hidden()
    expect(page.locator("#credits-summary")).to_contain_text("0")


def test_check_now_does_not_lengthen_the_wait_and_the_return_is_noticed(web_stack, open_context):
    """The API's own poll interval (no ?poll_ms), so the waits are seconds long."""
    api = web_stack
    page = open_context().new_page()
    page.goto(f"{api}/?timeout_ms=700")
    page.locator("#demo-signin").click()
    expect(page.locator("#credits-summary")).not_to_have_attribute("data-available", "")
    row, _ = create_event(page, "Outage buy", 200)
    paywall = open_paywall(page, row)
    paywall.get_by_role("button", name=re.compile(r"^Buy for")).click()
    status = page.locator("#payment-status")
    expect(status).to_have_attribute("data-state", "pending")

    api_down(page)
    problem = paywall.locator("#payment-problem")
    expect(problem).to_be_visible(timeout=30_000)

    def seconds_left() -> int:
        return int(re.search(r"in (\d+) s", problem.inner_text()).group(1))

    first = seconds_left()
    for _ in range(3):
        with page.expect_event("requestfailed"):
            paywall.get_by_role("button", name="Check now").click()
        # The refusal's handler runs in the page's next tasks: let them run, then read.
        page.evaluate("() => new Promise((done) => setTimeout(done, 50))")
        assert seconds_left() <= first, (first, problem.inner_text())

    api_up(page)
    # Noticed within a few seconds (a liveness probe), long before the countdown's end.
    expect(problem).to_be_hidden(timeout=6_000)
    expect(status).to_have_attribute("data-state", "pending")
