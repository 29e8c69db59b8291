"""The paywall web client in a real browser, against the real stack.

Debian's Chromium (the system package, /usr/bin/chromium) is driven by Python
Playwright; gunicorn serves the API and the page, a Celery worker and beat
settle payments, and the Kaspi stub's pay page is clicked in a second tab.
Screenshots go to test-artifacts/web/ (and the README's picture of the modal to
docs/images/paywall-modal.png when it is missing or UPDATE_SCREENSHOTS=1).
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from sqlalchemy import func, select

from app.billing.models import Credit, IdempotencyRecord, Transaction
from app.events.models import Event
from app.extensions import db
from tests.conftest import auth
from tests.integration.conftest import service_env
from tests.support.processes import ROOT, start_celery_beat, start_celery_worker
from tests.support.stub_server import confirm_payment, reset_faults

pytestmark = pytest.mark.integration

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts" / "web"
DOC_SCREENSHOT = ROOT / "docs" / "images" / "paywall-modal.png"
DEMO_USER = "demo-user"
# The page polls at the API's poll_interval_s; tests shorten it with ?poll_ms=.
POLL_MS = 250
SETTLE_TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}. The browser tests drive Debian's Chromium: "
            "install it with `apt-get update && apt-get install -y chromium` "
            "(or set CHROMIUM_PATH). Playwright's own browser downloads are not used.",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def web_stack(clean_db, api_server, kaspi_stub, app_config, tmp_path) -> Iterator[str]:
    """A worker and a beat polling Kaspi often, against the session's API and stub."""
    env = service_env(
        app_config,
        KASPI_BASE_URL=kaspi_stub,
        POLL_INITIAL_DELAY_S="0.2",
        POLL_MAX_DELAY_S="0.5",
        SWEEP_INTERVAL_S="0.3",
    )
    reset_faults(kaspi_stub)
    procs = [
        start_celery_worker(env, name="web-worker"),
        start_celery_beat(env, tmp_path / "beat-schedule", name="web-beat"),
    ]
    try:
        yield api_server
    finally:
        for proc in procs:
            proc.stop()
        reset_faults(kaspi_stub)


class Shots:
    """Numbered screenshots of one test under test-artifacts/web/."""

    def __init__(self, test_name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.prefix = re.sub(r"[^A-Za-z0-9_-]+", "_", test_name)
        self.count = 0

    def take(self, page: Page, name: str) -> Path:
        self.count += 1
        path = ARTIFACTS / f"{self.prefix}-{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), animations="disabled")
        return path


@pytest.fixture
def shots(request) -> Shots:
    return Shots(request.node.name)


def new_context(browser: Browser, width: int = 1000, height: int = 760) -> BrowserContext:
    context = browser.new_context(viewport={"width": width, "height": height}, locale="en-US")
    context.set_default_timeout(15_000)
    return context


@pytest.fixture
def context(browser: Browser, shots: Shots) -> Iterator[BrowserContext]:
    context = new_context(browser)
    yield from _watched(context, shots)


@pytest.fixture
def phone_context(browser: Browser, shots: Shots) -> Iterator[BrowserContext]:
    context = new_context(browser, width=375, height=812)
    yield from _watched(context, shots)


def _watched(context: BrowserContext, shots: Shots) -> Iterator[BrowserContext]:
    """Fail on uncaught script errors and CSP violations; keep a last picture of each tab."""
    problems: list[str] = []

    def watch(page: Page) -> None:
        page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        page.on(
            "console",
            lambda msg: (
                problems.append(f"console: {msg.text}")
                if msg.type == "error" and "Content Security Policy" in msg.text
                else None
            ),
        )

    context.on("page", watch)
    try:
        yield context
    finally:
        for index, page in enumerate(context.pages):
            if not page.is_closed():
                shots.take(page, f"final-tab{index}")
        context.close()
    assert not problems, problems


# ---------------------------------------------------------------- helpers


def kzt_pattern(amount: str) -> re.Pattern:
    """'15000.00' -> matches '15 000,00 ₸' as the page writes it (any spaces)."""
    whole, _, cents = amount.partition(".")
    grouped = f"{int(whole):,}".replace(",", r"\s?")
    return re.compile(rf"{grouped},{cents}\s*₸")


def catalog(api: str) -> dict:
    response = requests.get(f"{api}/api/billing/products", timeout=10)
    response.raise_for_status()
    return response.json()


def sign_in(page: Page, api: str) -> None:
    page.goto(f"{api}/?poll_ms={POLL_MS}")
    page.get_by_role("button", name="Sign in as demo user").click()
    expect(page.get_by_text(f"Signed in as {DEMO_USER}")).to_be_visible()
    expect(page.locator("#credits-summary")).to_have_attribute("data-available", "0")


def create_event(page: Page, title: str, participants: int):
    page.get_by_label("Title").fill(title)
    page.get_by_label("Max participants").fill(str(participants))
    page.get_by_role("button", name="Create draft").click()
    row = page.locator("li.event", has_text=title)
    expect(row).to_have_attribute("data-state", "draft")
    expect(row).to_contain_text(f"Up to {participants} participants")
    return row, row.get_attribute("data-event-id")


def open_paywall(page: Page, row):
    row.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("dialog", name="Upgrade to publish")).to_be_visible()
    # The title changes with the payment's state: later steps find the dialog by id.
    paywall = page.locator("dialog#paywall")
    expect(paywall).to_have_attribute("aria-modal", "true")
    # Focus moved into the dialog.
    expect(page.locator("#paywall-title")).to_be_focused()
    return paywall


def buy_and_open_kaspi(page: Page, paywall, *, double_click: bool = False) -> Page:
    buy = paywall.get_by_role("button", name=re.compile(r"^Buy for"))
    with page.context.expect_page() as new_tab:
        if double_click:
            buy.dblclick()
        else:
            buy.click()
    kaspi = new_tab.value
    kaspi.wait_for_url(re.compile(r"/pay/\d+$"))
    return kaspi


def api_get(api: str, path: str, **params) -> dict:
    response = requests.get(f"{api}{path}", params=params, headers=auth(DEMO_USER), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def transactions(app) -> list[Transaction]:
    with app.app_context():
        rows = db.session.scalars(select(Transaction)).all()
        db.session.expunge_all()
        return list(rows)


def credits(app) -> list[Credit]:
    with app.app_context():
        rows = db.session.scalars(select(Credit)).all()
        db.session.expunge_all()
        return list(rows)


# ---------------------------------------------------------------- scenarios


def test_pay_on_kaspi_then_publish_with_the_upgrade(web_stack, context, app, shots):
    api = web_stack
    product = next(p for p in catalog(api)["products"] if p["code"] == "EVENT_UPGRADE_500")
    page = context.new_page()
    sign_in(page, api)
    row, event_id = create_event(page, "Almaty tech meetup", 200)

    paywall = open_paywall(page, row)
    one_off = paywall.locator('[data-option="ONE_OFF_CREDIT"]')
    expect(one_off).to_have_attribute("data-amount", product["price"]["amount"])
    expect(one_off).to_contain_text(kzt_pattern(product["price"]["amount"]))
    expect(one_off).to_contain_text(product["title"])
    club = paywall.locator('[data-option="CLUB_ACCESS"]')
    expect(club).to_be_visible()
    expect(club.get_by_role("button", name="Buy club plan")).to_be_disabled()
    shots.take(page, "paywall")
    if os.environ.get("UPDATE_SCREENSHOTS") == "1" or not DOC_SCREENSHOT.exists():
        DOC_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOC_SCREENSHOT), animations="disabled")

    kaspi = buy_and_open_kaspi(page, paywall)
    status = page.locator("#payment-status")
    expect(status).to_have_attribute("data-state", "pending")
    expect(status).to_contain_text("Waiting for payment")
    expect(kaspi.locator("[data-status]")).to_have_text("Awaiting payment")
    expect(kaspi.locator(".amount")).to_contain_text(kzt_pattern(product["price"]["amount"]))
    shots.take(page, "pending")
    shots.take(kaspi, "kaspi-pay-page")

    kaspi.get_by_role("button", name=re.compile(r"^Pay ")).click()
    expect(kaspi.get_by_role("alert")).to_contain_text("Payment confirmed")
    shots.take(kaspi, "kaspi-paid")

    # The modal learns it by polling the API; nothing is reloaded.
    expect(status).to_have_attribute("data-state", "completed", timeout=SETTLE_TIMEOUT_MS)
    expect(status).to_contain_text("Paid")
    expect(page.get_by_role("dialog", name="Payment received")).to_be_visible()
    expect(page.locator("#credits-summary")).to_have_attribute("data-available", "1")
    shots.take(page, "paid")

    paywall.get_by_role("button", name="Publish now").click()
    confirm = page.get_by_role("dialog", name="Use an event upgrade?")
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text("This will use 1 event upgrade")
    expect(paywall).to_be_hidden()
    expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
    shots.take(page, "confirm")

    confirm.get_by_role("button", name="Use 1 upgrade and publish").click()
    expect(confirm).to_be_hidden()
    expect(row).to_have_attribute("data-state", "published")
    expect(row).to_contain_text("Published")
    expect(row).to_contain_text("uses an event upgrade")
    expect(row.get_by_role("button", name="Publish")).to_have_count(0)
    # Focus went back to the event (its Publish button is gone now).
    expect(row.locator(".event-title")).to_be_focused()
    expect(page.locator("#credits-summary")).to_have_attribute("data-available", "0")
    expect(page.locator("#credits-summary")).to_contain_text("1 used")
    shots.take(page, "published")

    # What the API and the database say.
    event = api_get(api, f"/api/events/{event_id}")
    assert event["published_at"] and event["upgraded_by_credit"] is True
    body = api_get(api, "/api/billing/credits")
    assert body["available"].get("EVENT_UPGRADE_500", 0) == 0
    assert [(c["status"], c["consumed_event_id"]) for c in body["credits"]] == [
        ("consumed", event_id)
    ]
    [tx] = transactions(app)
    assert (tx.status, tx.user_id, tx.product_code) == ("completed", DEMO_USER, "EVENT_UPGRADE_500")
    [credit] = credits(app)
    assert credit.status == "consumed"
    assert credit.consumed_event_id == uuid.UUID(event_id)
    assert credit.source_transaction_id == tx.id
    with app.app_context():
        stored = db.session.get(Event, uuid.UUID(event_id))
        assert stored.published_at is not None and stored.upgraded_by_credit


def test_declined_payment_ends_failed_with_no_upgrade(web_stack, context, app, shots):
    api = web_stack
    page = context.new_page()
    sign_in(page, api)
    row, event_id = create_event(page, "Declined workshop", 120)
    paywall = open_paywall(page, row)
    kaspi = buy_and_open_kaspi(page, paywall)

    kaspi.get_by_role("button", name="Decline payment").click()
    expect(kaspi.get_by_role("alert")).to_contain_text("declined")

    status = page.locator("#payment-status")
    expect(status).to_have_attribute("data-state", "failed", timeout=SETTLE_TIMEOUT_MS)
    expect(status).to_contain_text("Payment failed")
    expect(status).to_contain_text("No money was taken")
    expect(paywall.get_by_role("button", name="Publish now")).to_be_hidden()
    expect(paywall.get_by_role("button", name="Try again")).to_be_visible()
    expect(paywall.get_by_role("link", name="Open the Kaspi payment page")).to_be_hidden()
    shots.take(page, "failed")

    # Escape closes the dialog and focus goes back to the Publish button that opened it.
    page.keyboard.press("Escape")
    expect(paywall).to_be_hidden()
    expect(row.get_by_role("button", name="Publish")).to_be_focused()
    expect(row).to_have_attribute("data-state", "draft")
    expect(page.locator("#credits-summary")).to_have_attribute("data-available", "0")

    [tx] = transactions(app)
    assert tx.status == "failed"
    assert credits(app) == []
    assert api_get(api, f"/api/events/{event_id}")["published_at"] is None
    assert api_get(api, "/api/billing/credits") == {"credits": [], "available": {}}


def test_double_click_buys_once_and_a_reload_resumes_polling(
    web_stack, phone_context, app, kaspi_stub, shots
):
    """On a phone-sized screen: a double click on Buy makes one transaction; reloading
    the page while it is pending brings the payment back and polling resumes, backing
    off while the status endpoint fails."""
    api = web_stack
    page = phone_context.new_page()
    sign_in(page, api)
    row, _event_id = create_event(page, "Phone-made concert", 300)
    paywall = open_paywall(page, row)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shots.take(page, "paywall-375px")

    buy_and_open_kaspi(page, paywall, double_click=True)
    status = page.locator("#payment-status")
    expect(status).to_have_attribute("data-state", "pending")
    [tx] = transactions(app)
    with app.app_context():
        keys = db.session.scalar(select(func.count()).select_from(IdempotencyRecord))
    assert keys == 1
    expect(page.locator("#payment-tx")).to_have_text(str(tx.id))

    # The status endpoint fails for a while: the page says so and keeps trying.
    failing = {"count": 0}

    def unavailable(route) -> None:
        failing["count"] += 1
        route.fulfill(
            status=503,
            content_type="application/json",
            body='{"error": {"code": "UNAVAILABLE", "message": "try later"}}',
        )

    page.route("**/api/billing/transactions/status*", unavailable)
    page.reload()
    expect(page.get_by_role("dialog", name="Upgrade to publish")).to_be_visible()
    expect(status).to_have_attribute("data-state", "pending")
    expect(page.locator("#payment-tx")).to_have_text(str(tx.id))
    expect(status).to_contain_text("Can't check the payment right now")
    shots.take(page, "reloaded-backing-off")
    page.unroute("**/api/billing/transactions/status*")
    assert failing["count"] >= 1

    confirm_payment(kaspi_stub, tx.provider_payment_id)
    expect(status).to_have_attribute("data-state", "completed", timeout=SETTLE_TIMEOUT_MS)
    expect(paywall.get_by_role("button", name="Publish now")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shots.take(page, "paid-375px")
    assert len(transactions(app)) == 1
    assert [c.status for c in credits(app)] == ["available"]
