"""Browser-test helpers: what a person does on the page, axe-core, screenshots.

The fixtures (Chromium, the worker stack) are in ``web_fixtures``.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import token_for
from tests.support.processes import ROOT

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
DOC_IMAGES = ROOT / "docs" / "images"
DEMO_USER = "demo-user"
# The page polls at the API's poll_interval_s; tests shorten it with ?poll_ms=.
POLL_MS = 250
SETTLE_TIMEOUT_MS = 30_000
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1100, "height": 800}

# axe-core from the npm registry, installed once into var/test-support by the test itself.
AXE_VERSION = "4.14.1"
AXE_DIR = ROOT / "var" / "test-support"
AXE_JS = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"


def axe_source() -> str:
    # Parallel test processes (pytest-xdist) take turns: one installs, the others then read.
    AXE_DIR.mkdir(parents=True, exist_ok=True)
    with open(AXE_DIR / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not AXE_JS.exists():
            _install_axe()
        return AXE_JS.read_text(encoding="utf-8")


def _install_axe() -> None:
    try:
        npm = shutil.which("npm") or "npm"
        subprocess.run(
            [npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix",
             str(AXE_DIR), f"axe-core@{AXE_VERSION}"],
            check=True, capture_output=True, timeout=300,
        )  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.fail(
            f"axe-core could not be installed with npm ({exc}); the accessibility checks "
            f"need `npm install --prefix var/test-support axe-core@{AXE_VERSION}`",
            pytrace=False,
        )


def check_a11y(page: Page, axe_js: str, state: str) -> None:
    """Zero axe-core violations (WCAG 2.x A/AA and best practices) in this page state."""
    page.wait_for_timeout(50)  # let the last render and CSS transitions land
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol: the page's CSP does not apply to it.
        page.evaluate(f"() => {{ {axe_js}\n }}")
        page.evaluate("() => { window.axe = window.axe || axe; }")
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(
                    n => n.target.join(' ') + ' :: ' + n.failureSummary)}));
        }"""
    )
    assert result == [], f"axe-core violations in state {state!r}:\n" + json.dumps(result, indent=1)


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


def doc_screenshot(page: Page, name: str) -> Path:
    """A picture for the README: always under test-artifacts/web/, and in docs/images/
    when it is missing there or UPDATE_SCREENSHOTS=1 (so a test run leaves the tree clean)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), animations="disabled", full_page=True)
    path = DOC_IMAGES / name
    if os.environ.get("UPDATE_SCREENSHOTS") == "1" or not path.exists():
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), animations="disabled", full_page=True)
    return path


def sign_in(page: Page, api: str, *, query: str = "", lang_note: str | None = None) -> None:
    """The demo user's sign-in, with polling shortened for the tests."""
    page.goto(f"{api}/?poll_ms={POLL_MS}{query}")
    page.locator("#demo-signin").click()
    expect(page.locator("#session-user")).to_contain_text(DEMO_USER)
    expect(page.locator("#credits-summary")).not_to_have_attribute("data-available", "")


def sign_in_as(page: Page, api: str, user_id: str, query: str = "") -> None:
    page.goto(f"{api}/?poll_ms={POLL_MS}{query}")
    page.locator("#token-input").fill(token_for(user_id))
    page.locator("#token-form button[type=submit]").click()
    expect(page.locator("#session-user")).to_contain_text(user_id)


def console_errors(page: Page) -> list[str]:
    """Console errors, and every answer of 400 or more (Chromium logs each as an error)."""
    errors: list[str] = []

    def answer(response) -> None:
        if response.status >= 400:
            errors.append(f"{response.request.method} {response.url} {response.status}")

    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("response", answer)
    return errors


def known_users(app, *user_ids: str) -> None:
    """Users who have signed in once: only they can be added to a club."""
    from app.extensions import db
    from tests.support.factories import make_user

    with app.app_context():
        for user_id in user_ids:
            make_user(user_id)
        db.session.remove()


def create_event(page: Page, title: str, participants: int | None, *, form: str = "#create-form"):
    page.locator(f"{form} input").nth(0).fill(title)
    page.locator(f"{form} input").nth(1).fill("" if participants is None else str(participants))
    page.locator(f"{form} button[type=submit]").click()
    row = page.locator("li.event", has_text=title)
    expect(row).to_have_attribute("data-state", "draft")
    return row, row.get_attribute("data-event-id")


def open_paywall(page: Page, row):
    row.locator("button.publish").click()
    paywall = page.locator("dialog#paywall")
    expect(paywall).to_be_visible()
    expect(page.locator("#paywall-title")).to_be_focused()
    return paywall


def kzt(amount: str, lang: str = "en") -> re.Pattern:
    """'15000.00' -> '15,000 ₸' (en) or '15 000 ₸' (ru): no needless decimals."""
    whole, _, cents = amount.partition(".")
    sep = "," if lang == "en" else r"\s"
    grouped = f"{int(whole):,}".replace(",", sep)
    tail = "" if cents.strip("0") == "" else rf"[.,]{cents}"
    return re.compile(rf"(?<![\d,.]){grouped}{tail}\s₸")
