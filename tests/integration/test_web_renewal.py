"""The renewal banner in the browser, against the real stack: a reminder went out, the
owner sees the days left, taps Renew, pays on the Kaspi stub's page, and the club page
shows the new period end (the old end plus one period: no day lost)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.clubs.models import ClubSubscription
from app.db import step
from app.extensions import db
from app.renewals import reminders
from tests.support.factories import make_club, make_subscription, make_user
from tests.support.web import DEMO_USER, SETTLE_TIMEOUT_MS, check_a11y, sign_in
from tests.support.web_fixtures import *  # noqa: F403 - the browser fixtures

pytestmark = pytest.mark.integration


def test_banner_renew_pay_and_the_new_period_end(web_stack, open_context, app, axe_js, shots):
    api = web_stack
    with app.app_context():
        club = make_club(make_user(DEMO_USER), "Steppe cyclists")
        sub = make_subscription(club, "club_50", days_left=3)
        club_id, old_end = club.id, sub.current_period_end
        db.session.remove()  # the reads above opened a transaction; the sweep is its own
        with step():  # the reminder sweep, as beat runs it
            assert len(reminders.send_due(datetime.now(UTC))) == 1
        db.session.remove()

    page = open_context().new_page()
    sign_in(page, api)
    page.goto(f"{api}/#/clubs/{club_id}")
    banner = page.locator("#club-renew-banner")
    expect(banner).to_be_visible()
    expect(page.locator("#club-renew-text")).to_contain_text("3 days left on the Club 50 plan")
    check_a11y(page, axe_js, "renewal banner")
    shots.take(page, "renewal-banner")

    banner.get_by_role("button", name="Renew").click()
    pay_link = banner.get_by_role("link", name="Open the Kaspi payment page")
    expect(pay_link).to_be_visible()
    expect(page.locator("#club-renew-status")).to_contain_text("Pay 5,000")
    with page.context.expect_page() as new_tab:
        pay_link.click()
    kaspi = new_tab.value
    kaspi.wait_for_url(re.compile(r"/pay/\d+$"))
    kaspi.get_by_role("button", name=re.compile(r"^Pay ")).click()

    new_end = old_end + timedelta(days=30)
    expect(page.locator("#club-renew-status")).to_contain_text(
        "Renewed: the plan now runs until", timeout=SETTLE_TIMEOUT_MS
    )
    # The new period's reminders have not started: the banner's Renew is gone.
    expect(page.locator("#club-renew")).to_be_hidden()
    with app.app_context():
        stored = db.session.scalar(
            select(ClubSubscription.current_period_end).where(ClubSubscription.club_id == club_id)
        )
        db.session.remove()
    assert stored == new_end
    shown = page.locator("#club-period").inner_text()
    assert str(new_end.year) in shown and str(new_end.day) in shown, shown
    check_a11y(page, axe_js, "renewed")
