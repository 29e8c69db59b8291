"""The smaller things a buyer trips over, in the browser on the real stack: the
purchases table on a phone, receipts of unpaid purchases, participant sizes in plain
words, a draft with a payment in progress, the plan dialog, the favicon."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.support.stub_server import confirm_payment
from tests.support.web import (
    PHONE,
    SETTLE_TIMEOUT_MS,
    check_a11y,
    create_event,
    known_users,
    open_paywall,
    sign_in,
    sign_in_as,
)
from tests.support.web_fixtures import *  # noqa: F403 - the browser fixtures

pytestmark = pytest.mark.integration


def start_purchase(page: Page, title: str):
    row, event_id = create_event(page, title, 200)
    paywall = open_paywall(page, row)
    paywall.get_by_role("button", name=re.compile(r"^Buy for")).click()
    expect(paywall.locator("#payment-id")).to_have_text(re.compile(r"^\d+$"))
    return row, event_id, paywall


# Each word of an element's text on one line: none is broken in the middle.
WORDS_WHOLE = """(node) => {
  const text = node.firstChild;
  const words = [];
  const re = /\\S+/g;
  let m;
  while ((m = re.exec(text.data))) {
    const range = document.createRange();
    range.setStart(text, m.index);
    range.setEnd(text, m.index + m[0].length);
    const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
    if (tops.size > 1) words.push(m[0]);
  }
  return words;
}"""


def test_purchases_on_a_phone_are_cards_with_whole_words(web_stack, open_context, axe_js, shots):
    api = web_stack
    page = open_context(viewport=PHONE).new_page()
    sign_in(page, api)
    start_purchase(page, "Phone purchase")
    page.keyboard.press("Escape")
    page.get_by_role("link", name="Purchases").click()
    row = page.locator("#history-body tr").first
    expect(row).to_be_visible()

    card = row.bounding_box()
    status = row.locator("[data-status]").bounding_box()
    assert status["x"] + status["width"] <= card["x"] + card["width"] + 0.5, (status, card)
    assert status["x"] + status["width"] <= PHONE["width"], status
    broken = row.locator("a").evaluate(WORDS_WHOLE)
    assert broken == [], f"words broken mid-word: {broken}"
    overflow = page.evaluate(
        "() => { const w = document.querySelector('#view-history .table-wrap');"
        " return w.scrollWidth - w.clientWidth; }"
    )
    assert overflow <= 0, f"the table is {overflow}px wider than its card"
    # Each line names its column.
    expect(row.locator('td[data-label="Status"]')).to_be_visible()
    check_a11y(page, axe_js, "history on a phone")
    shots.take(page, "history-phone")


def test_an_unpaid_purchase_has_no_paid_receipt(web_stack, open_context):
    api = web_stack
    page = open_context().new_page()
    sign_in(page, api)
    start_purchase(page, "Unpaid receipt")
    page.keyboard.press("Escape")
    page.get_by_role("link", name="Purchases").click()
    page.locator("#history-body tr a").first.click()
    expect(page.get_by_role("heading", level=1, name="Purchase details")).to_be_visible()
    facts = page.locator("#receipt-facts")
    expect(facts).not_to_contain_text("Paid with")
    expect(facts).to_contain_text("Payment asked through")


def test_participant_sizes_in_plain_words(web_stack, open_context):
    api = web_stack
    page = open_context().new_page()
    sign_in(page, api)
    error = page.locator("#create-error")
    for typed in ("-5", "0"):
        page.locator("#event-title").fill("Sized")
        page.locator("#event-max").fill(typed)
        page.get_by_role("button", name="Create draft").click()
        expect(error).to_have_text("An event needs room for at least 1 participant.")
    page.locator("#event-max").fill("1000001")
    page.get_by_role("button", name="Create draft").click()
    expect(error).to_contain_text("more people than any event can hold")

    row, _ = create_event(page, "Stadium", 10000)
    expect(row).to_contain_text("Up to 10,000 participants")
    expect(page.locator("#create-note")).to_contain_text(
        "A personal event for more than 500 participants cannot be published"
    )


def test_a_draft_with_a_payment_in_progress_is_not_deleted(web_stack, open_context):
    api = web_stack
    page = open_context().new_page()
    sign_in(page, api)
    row, _event_id, _paywall = start_purchase(page, "Keep me")
    page.keyboard.press("Escape")
    row.get_by_role("button", name="Delete").click()
    page.locator("#delete-ok").click()
    expect(page.locator("#delete-error")).to_contain_text("Cancel it first")
    page.keyboard.press("Escape")
    expect(row).to_be_visible()


def test_the_plan_dialog_says_choose_a_plan_and_marks_the_current_one(
    web_stack, open_context, kaspi_stub
):
    api = web_stack
    page = open_context().new_page()
    sign_in(page, api)
    page.get_by_role("link", name="Clubs").click()
    page.get_by_label("Club name").fill("Plan club")
    page.get_by_role("button", name="Create club").click()
    expect(page.locator("#club-title")).to_have_text("Plan club")
    page.get_by_role("button", name="Buy a plan").click()
    paywall = page.locator("dialog#paywall")
    expect(page.locator("#paywall-title")).to_have_text("Choose a plan")
    expect(paywall.locator(".badge.current")).to_have_count(0)
    paywall.locator('[data-plan="club_50"] button').click()
    expect(paywall.locator("#payment-id")).to_have_text(re.compile(r"^\d+$"))
    confirm_payment(kaspi_stub, paywall.locator("#payment-id").inner_text())
    status = paywall.locator("#payment-status")
    expect(status).to_have_attribute("data-state", "completed", timeout=SETTLE_TIMEOUT_MS)
    expect(paywall.locator("#paywall-message")).to_be_hidden()
    page.keyboard.press("Escape")
    expect(page.locator("#club-plan")).to_have_text("Club 50")

    page.get_by_role("button", name=re.compile(r"Renew|Switch|plan")).first.click()
    expect(page.locator("#paywall-title")).to_have_text("Choose a plan")
    expect(paywall.locator('[data-plan="club_50"] .badge.current')).to_have_text(
        "Your current plan"
    )
    expect(paywall.locator('[data-plan="club_500"] .badge.current')).to_have_count(0)


def test_the_favicon_is_served(web_stack, open_context):
    api = web_stack
    page = open_context().new_page()
    page.goto(api + "/")
    href = page.locator('link[rel="icon"]').get_attribute("href")
    response = page.request.get(api + href)
    assert response.status == 200 and "svg" in response.headers["content-type"]


def test_a_plain_member_sees_the_clubs_events_and_no_create_form(web_stack, open_context, app):
    api = web_stack
    known_users(app, "mia")
    owner = open_context().new_page()
    sign_in(owner, api)
    owner.get_by_role("link", name="Clubs").click()
    owner.get_by_label("Club name").fill("Members' club")
    owner.get_by_role("button", name="Create club").click()
    expect(owner.locator("#club-title")).to_have_text("Members' club")
    owner.get_by_label("User id").fill("mia")
    owner.get_by_label("Role").select_option("member")
    owner.get_by_role("button", name="Add member").click()
    expect(owner.locator('#members-list li[data-user="mia"]')).to_be_visible()
    row, _ = create_event(owner, "Club picnic", 10, form="#club-event-form")
    row.locator("button.publish").click()
    expect(row).to_have_attribute("data-state", "published")

    member = open_context().new_page()
    sign_in_as(member, api, "mia")
    member.get_by_role("link", name="Clubs").click()
    member.get_by_role("link", name="Members' club").click()
    expect(member.locator("#club-title")).to_have_text("Members' club")
    expect(member.locator("#club-event-form")).to_be_hidden()
    expect(member.locator("#club-events-members-only")).to_be_visible()
    listed = member.locator("#club-events-list li.event", has_text="Club picnic")
    expect(listed).to_be_visible()
    expect(listed.get_by_role("button")).to_have_count(0)
    expect(member.locator("#club-events-empty")).to_be_hidden()
