"""Clubs, purchase history and receipts in the browser, against the real stack.

The club flow of the issue: create a club, add members, a 40-person club event hits
the free plan's limit, its paywall speaks of the club's plan and offers Club 50,
the owner buys it on Kaspi and publishes. Then the grace warning, and the purchase
in the history with its receipt. Screenshots of the club and history pages are
the README's pictures.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
from playwright.sync_api import Page, Route, expect
from sqlalchemy import select, update

from app.billing.core.models import Transaction
from app.clubs.models import ClubSubscription
from app.extensions import db
from tests.conftest import auth
from tests.support.processes import wait_until
from tests.support.stub_server import fail_payment
from tests.support.web import (
    DEMO_USER,
    SETTLE_TIMEOUT_MS,
    check_a11y,
    create_event,
    doc_screenshot,
    known_users,
    kzt,
    sign_in,
)
from tests.support.web_fixtures import *  # noqa: F403 - the browser fixtures

pytestmark = pytest.mark.integration


def club_50_price(app) -> str:
    from app.catalog.models import Product

    with app.app_context():
        return str(db.session.get(Product, "CLUB_50").price)


def add_member(page: Page, user_id: str, role: str) -> None:
    page.get_by_label("User id").fill(user_id)
    page.get_by_label("Role").select_option(role)
    page.get_by_role("button", name="Add member").click()
    expect(page.locator(f'#members-list li[data-user="{user_id}"]')).to_contain_text(role)


def test_club_flow_buy_a_plan_publish_then_history_and_receipt(
    web_stack, open_context, app, kaspi_stub, shots, axe_js
):
    api = web_stack
    price = club_50_price(app)
    page = open_context().new_page()
    sign_in(page, api)
    page.get_by_role("link", name="Clubs").click()
    expect(page.get_by_role("heading", level=1, name="Clubs")).to_be_focused()
    check_a11y(page, axe_js, "clubs list")
    page.get_by_label("Club name").fill("   ")
    page.get_by_role("button", name="Create club").click()
    expect(page.locator("#club-create-error")).to_have_text("Give the club a name.")
    page.get_by_label("Club name").fill("Almaty runners")
    page.get_by_role("button", name="Create club").click()

    # The club page: plan, subscription, seats, members.
    expect(page.locator("#club-title")).to_have_text("Almaty runners")
    club_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("#club-role")).to_contain_text("owner")
    expect(page.locator("#club-plan")).to_have_text("Free")
    expect(page.locator("#club-sub-status")).to_have_text("None (free plan)")
    expect(page.locator("#club-seats")).to_have_text("1 member (no limit)")
    # Only someone who has signed in can be added: a typed id nobody uses takes no seat.
    page.get_by_label("User id").fill("nobody-typed-this")
    page.get_by_role("button", name="Add member").click()
    expect(page.locator("#member-error")).to_contain_text("No one with that user id has signed in")
    expect(page.locator("#club-seats")).to_have_text("1 member (no limit)")
    expect(page.locator('#members-list li[data-user="nobody-typed-this"]')).to_have_count(0)
    known_users(app, "bob", "carol")
    add_member(page, "bob", "admin")
    page.get_by_label("User id").fill("bob")
    page.get_by_role("button", name="Add member").click()
    expect(page.locator("#member-error")).to_have_text("That person is already a member.")
    add_member(page, "carol", "member")
    expect(page.locator("#member-error")).to_be_hidden()
    expect(page.locator("#club-seats")).to_have_text("3 members (no limit)")
    check_a11y(page, axe_js, "club page, free plan")

    # A 40-person club event: over the free plan's 15, so publishing shows the paywall.
    row, event_id = create_event(page, "Club marathon", 40, form="#club-event-form")
    row.locator("button.publish").click()
    paywall = page.locator("dialog#paywall")
    expect(paywall).to_be_visible()
    expect(paywall.locator("#paywall-subject")).to_contain_text("club “Almaty runners”")
    expect(paywall.locator("#paywall-message")).to_contain_text(
        "The club is on the Free plan: events of up to 15 participants. This event has 40"
    )
    option = paywall.locator('[data-option="CLUB_ACCESS"]')
    expect(option).to_have_attribute("data-plan", "club_50")
    expect(option).to_contain_text(kzt(price))
    expect(option).to_contain_text("5,000 ₸")
    check_a11y(page, axe_js, "club event paywall")
    shots.take(page, "club-paywall")
    option.get_by_role("button", name=re.compile(r"^Buy plan for")).click()
    status = paywall.locator("#payment-status")
    expect(paywall.locator("#payment-id")).to_have_text(re.compile(r"^\d+$"))
    expect(paywall.locator("#payment-what")).to_have_text("Club 50 plan for “Almaty runners”")
    plan_payment = paywall.locator("#payment-id").inner_text()
    # The plan is the item being bought: the club page's own button shows the same purchase.
    page.keyboard.press("Escape")
    expect(page.locator("#purchase-banner")).to_contain_text("Almaty runners")
    page.get_by_role("button", name="Buy a plan").click()
    expect(paywall.locator("#payment-id")).to_have_text(plan_payment)
    with page.context.expect_page() as new_tab:
        paywall.get_by_role("link", name="Open the Kaspi payment page").click()
    kaspi = new_tab.value
    kaspi.wait_for_url(re.compile(r"/pay/\d+$"))
    kaspi.get_by_role("button", name=re.compile(r"^Pay ")).click()
    expect(status).to_have_attribute("data-state", "completed", timeout=SETTLE_TIMEOUT_MS)
    expect(status).to_contain_text("The Club 50 plan is active for “Almaty runners”.")
    kaspi.close()
    paywall.get_by_role("button", name="Publish now").click()
    expect(paywall).to_be_hidden()
    expect(row).to_have_attribute("data-state", "published")

    # The club page now shows the plan, its period, when to renew, and the seats.
    expect(page.locator("#club-plan")).to_have_text("Club 50")
    expect(page.locator("#club-sub-status")).to_have_text("Active")
    expect(page.locator("#club-renewal")).to_contain_text("Renew by")
    expect(page.locator("#club-seats")).to_have_text("3 of 50 seats used")
    expect(page.locator("#club-grace")).to_be_hidden()
    check_a11y(page, axe_js, "club page, club 50")
    doc_screenshot(page, "club-page.png")
    with app.app_context():
        [tx] = db.session.scalars(select(Transaction)).all()
        db.session.expunge_all()
        assert (tx.status, tx.product_code, str(tx.club_id)) == ("completed", "CLUB_50", club_id)
        payment_id = tx.provider_payment_id
    event = page.evaluate(
        f"fetch('/api/events/{event_id}', {{headers: {{Authorization: 'Bearer ' + "
        "localStorage.getItem('billing.web.token')}}).then(r => r.json())"
    )
    assert event["published_at"] and event["club_id"] == club_id

    # The period ran out: a grace warning and "Renew or switch plan".
    now = datetime.now(UTC)
    with app.app_context():
        db.session.execute(
            update(ClubSubscription)
            .where(ClubSubscription.club_id == uuid.UUID(club_id))
            .values(
                status="grace",
                current_period_start=now - timedelta(days=31),
                current_period_end=now - timedelta(days=1),
                grace_until=now + timedelta(days=6),
            )
        )
        db.session.commit()
    page.reload()
    grace = page.locator("#club-grace")
    expect(grace).to_be_visible()
    expect(grace).to_contain_text("The plan's period has ended. Renew by")
    expect(page.locator("#club-sub-status")).to_have_text("Grace period")
    check_a11y(page, axe_js, "club page, grace")
    page.get_by_role("button", name="Renew or switch plan").click()
    expect(paywall.locator('[data-plan="club_50"]')).to_contain_text("Renew for 5,000 ₸")
    expect(paywall.locator('[data-plan="club_500"] button')).to_contain_text("Switch plan for")
    check_a11y(page, axe_js, "renew or switch")
    page.keyboard.press("Escape")

    # A declined event upgrade, so the history has more than one kind of row.
    page.get_by_role("link", name="My events").click()
    personal, _ = create_event(page, "Declined upgrade", 100)
    personal.locator("button.publish").click()
    paywall.get_by_role("button", name=re.compile(r"^Buy for")).click()
    expect(paywall.locator("#payment-id")).not_to_have_text(payment_id)
    expect(paywall.locator("#payment-id")).to_have_text(re.compile(r"^\d+$"))
    fail_payment(kaspi_stub, paywall.locator("#payment-id").inner_text())
    expect(status).to_have_attribute("data-state", "failed", timeout=SETTLE_TIMEOUT_MS)
    page.keyboard.press("Escape")

    # The plan's fiscal receipt, issued by the fiscal worker from the outbox.
    def sale_receipt():
        from app.billing.fiscal.models import Receipt

        with app.app_context():
            found = db.session.scalars(
                select(Receipt).where(Receipt.transaction_id == tx.id, Receipt.state == "issued")
            ).one_or_none()
            db.session.remove()
            return found

    wait_until(sale_receipt, timeout=30, message="the plan's fiscal receipt to be issued")
    fiscal = sale_receipt()

    # History and the receipt.
    page.get_by_role("link", name="Purchases").click()
    expect(page.locator("#history-body tr")).to_have_count(2)
    expect(page.locator("#history-body tr").first.locator("[data-status]")).to_have_text("Declined")
    history_row = page.locator(f'#history-body tr[data-tx="{tx.id}"]')
    expect(history_row).to_contain_text("Club 50 plan for “Almaty runners”")
    expect(history_row).to_contain_text("5,000 ₸")
    expect(history_row).to_contain_text(payment_id)
    expect(history_row.locator("[data-status]")).to_have_text("Paid")
    expect(history_row.locator("td").first).to_contain_text(str(datetime.now(UTC).year))
    check_a11y(page, axe_js, "history")
    doc_screenshot(page, "history-page.png")
    history_row.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1, name="Receipt")).to_be_visible()
    receipt = page.locator("#receipt-facts")
    expect(receipt.locator('[data-field="payment-id"]')).to_have_text(payment_id)
    expect(receipt.locator('[data-field="amount"]')).to_have_text(kzt(price))
    expect(receipt).to_contain_text("Kaspi")
    expect(receipt).to_contain_text("the plan from")
    fiscal_link = receipt.locator('[data-field="fiscal-receipt"] a')
    expect(fiscal_link).to_have_attribute("href", fiscal.ticket_url)
    expect(fiscal_link).to_contain_text(fiscal.fiscal_number)
    check_a11y(page, axe_js, "receipt")
    shots.take(page, "receipt")


def test_a_personal_event_too_big_for_an_upgrade_has_ways_forward(
    web_stack, open_context, shots, axe_js
):
    """No dead end: an unlimited personal event offers to become a club event, and one
    over the upgrade's ceiling also offers to lower its limit."""
    api = web_stack
    page = open_context().new_page()
    sign_in(page, api)
    row, _ = create_event(page, "Open-air festival", 900)
    row.locator("button.publish").click()
    paywall = page.locator("dialog#paywall")
    expect(paywall.locator("#paywall-message")).to_contain_text(
        "An event upgrade covers up to 500 participants; this event has 900"
    )
    expect(paywall.locator('[data-option="ONE_OFF_CREDIT"]')).to_have_count(0)
    check_a11y(page, axe_js, "too big for an upgrade")
    paywall.get_by_role("button", name="Change the limit").click()
    edit = page.locator("dialog#edit-dialog")
    expect(edit.get_by_label("Max participants")).to_have_value("900")
    edit.get_by_label("Max participants").fill("500")
    edit.get_by_role("button", name="Save").click()
    expect(row).to_contain_text("Up to 500 participants")
    row.locator("button.publish").click()
    expect(paywall.locator('[data-option="ONE_OFF_CREDIT"]')).to_be_visible()
    page.keyboard.press("Escape")

    unlimited, _ = create_event(page, "Citywide run", None)
    expect(unlimited).to_contain_text("No participant limit")
    unlimited.locator("button.publish").click()
    paywall.get_by_role("button", name="Create it as a club event").click()
    expect(paywall).to_be_hidden()
    expect(page.get_by_label("Club name")).to_be_focused()
    page.get_by_label("Club name").fill("City runners")
    page.get_by_role("button", name="Create club").click()
    expect(page.locator("#club-title")).to_have_text("City runners")
    # The club event form comes filled in with the event's title and size.
    expect(page.locator("#club-event-title")).to_have_value("Citywide run")
    expect(page.locator("#club-event-max")).to_have_value("")
    shots.take(page, "club-event-prefilled")


def test_a_view_opened_while_sign_in_still_loads_keeps_its_focus(web_stack, open_context):
    """Sign-in loads the clubs list among other lists; a user who opens Clubs meanwhile
    keeps the focus on its heading once the loading ends (it used to jump back to the
    top of the page). The list is held in Playwright's routing until the Clubs view is
    open, so the order is forced, not hoped for."""
    name = f"Held club {uuid.uuid4().hex[:6]}"
    made = requests.post(
        f"{web_stack}/api/clubs", json={"name": name}, headers=auth(DEMO_USER), timeout=10
    )
    assert made.status_code == 201, made.text
    page = open_context().new_page()
    clubs_list = re.compile(r"/api/clubs$")
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    page.route(clubs_list, hold)
    sign_in(page, web_stack)
    # Each evaluate lets Playwright hand over the routed request.
    wait_until(lambda: page.evaluate("1") and held, message="sign-in to ask for its clubs")

    page.get_by_role("link", name="Clubs").click()
    heading = page.get_by_role("heading", level=1, name="Clubs")
    expect(heading).to_be_focused()
    held[0].continue_()
    page.unroute(clubs_list)
    # Sign-in's last steps run in the same turn as the list's rendering: once the
    # name shows, sign-in is over.
    expect(page.locator("#clubs-list")).to_contain_text(name)
    expect(heading).to_be_focused()
