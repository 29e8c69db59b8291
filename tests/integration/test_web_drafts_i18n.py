"""Drafts edited and deleted from the page, field errors in words people use, and the
page in Russian and English (chosen from the browser, switchable, remembered), on a
390x844 phone screen."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.conftest import auth
from tests.support.web import (
    DEMO_USER,
    PHONE,
    check_a11y,
    create_event,
    kzt,
    sign_in,
)
from tests.support.web_fixtures import *  # noqa: F403 - the browser fixtures

pytestmark = pytest.mark.integration


def fits_the_screen(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_drafts_edit_and_delete_with_errors_in_words(web_stack, open_context, shots, axe_js):
    api = web_stack
    page = open_context(PHONE).new_page()
    sign_in(page, api)
    form = page.locator("#create-form")
    error = page.locator("#create-error")

    # Errors a person can act on, from the page's own checks and from the API's.
    form.get_by_label("Title").fill("Too many")
    form.get_by_label("Max participants").fill("lots")
    form.get_by_role("button", name="Create draft").click()
    expect(error).to_have_text(
        "Write the number of participants as a whole number, like 40, or leave it empty."
    )
    expect(form.get_by_label("Max participants")).to_have_attribute("aria-invalid", "true")
    form.get_by_label("Max participants").fill("99999999999")
    form.get_by_role("button", name="Create draft").click()
    expect(error).to_have_text(
        "That is more people than any event can hold. Leave it empty for no limit."
    )
    expect(error).not_to_contain_text("2147483647")
    check_a11y(page, axe_js, "field error")
    shots.take(page, "field-error-390px")

    _row, event_id = create_event(page, "Board games night", 12)
    row = page.locator(f'li.event[data-event-id="{event_id}"]')
    expect(error).to_be_hidden()
    row.get_by_role("button", name="Edit").click()
    dialog = page.locator("dialog#edit-dialog")
    expect(dialog.get_by_label("Title")).to_be_focused()
    dialog.get_by_label("Title").fill("")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.locator("#edit-error")).to_have_text("Give the event a title.")
    dialog.get_by_label("Title").fill("Board games marathon")
    dialog.get_by_label("Max participants").fill("14")
    check_a11y(page, axe_js, "edit dialog")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(row).to_contain_text("Board games marathon")
    expect(row).to_contain_text("Up to 14 participants")
    event = requests.get(f"{api}/api/events/{event_id}", headers=auth(DEMO_USER), timeout=10)
    assert (event.json()["title"], event.json()["max_participants"]) == (
        "Board games marathon",
        14,
    )

    # Free-sized: it publishes, and a published event has no Delete.
    kept, _kept_id = create_event(page, "Published one", 10)
    kept.locator("button.publish").click()
    expect(kept).to_have_attribute("data-state", "published")
    expect(kept.get_by_role("button", name="Delete")).to_have_count(0)

    row.get_by_role("button", name="Delete").click()
    confirm = page.locator("dialog#delete-dialog")
    expect(confirm).to_contain_text("“Board games marathon” will be deleted")
    expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
    check_a11y(page, axe_js, "delete dialog")
    confirm.get_by_role("button", name="Delete").click()
    expect(confirm).to_be_hidden()
    expect(page.locator(f'li.event[data-event-id="{event_id}"]')).to_have_count(0)
    gone = requests.get(f"{api}/api/events/{event_id}", headers=auth(DEMO_USER), timeout=10)
    assert gone.status_code == 404
    assert fits_the_screen(page)

    # The other pages fit the phone too.
    for link, heading in (("Clubs", "Clubs"), ("Purchases", "Purchases")):
        page.get_by_role("link", name=link).click()
        expect(page.get_by_role("heading", level=1, name=heading)).to_be_visible()
        assert fits_the_screen(page), link
        check_a11y(page, axe_js, f"{link} at 390px")


def test_russian_from_the_browser_then_english_by_choice(web_stack, open_context, shots, axe_js):
    api = web_stack
    context = open_context(locale="ru-RU")
    page = context.new_page()
    page.goto(f"{api}/")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_role("heading", name="Вход")).to_be_visible()
    check_a11y(page, axe_js, "sign-in, ru")
    page.get_by_role("button", name="Войти как демо-пользователь").click()
    expect(page.locator("#session-user")).to_have_text(f"Вы вошли как {DEMO_USER}")
    expect(page.locator("#limits-hint")).to_contain_text("События до 15 участников")

    form = page.locator("#create-form")
    form.get_by_label("Название").fill("Концерт")
    form.get_by_label("Максимум участников").fill("200")
    form.get_by_role("button", name="Создать черновик").click()
    row = page.locator("li.event", has_text="Концерт")
    expect(row).to_contain_text("До 200 участников")
    row.get_by_role("button", name="Опубликовать").click()
    paywall = page.locator("dialog#paywall")
    expect(paywall.locator("#paywall-title")).to_have_text("Оплата для публикации")
    buy = paywall.get_by_role("button", name=re.compile(r"^Купить за"))
    # Tenge as Russian writes it: a space between thousands, no needless decimals.
    expect(buy).to_have_text(kzt("1000.00", "ru"))
    expect(buy).to_have_text(re.compile(r"^Купить за 1\s000\s₸$"))
    expect(paywall).to_contain_text("Расширение события (до 500 участников)")
    check_a11y(page, axe_js, "paywall, ru")
    shots.take(page, "paywall-ru")
    page.keyboard.press("Escape")

    page.get_by_label("Язык").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(row).to_contain_text("Up to 200 participants")
    expect(page.get_by_role("link", name="Purchases")).to_be_visible()
    page.reload()
    # The choice outlives a reload, over the browser's own preference.
    expect(page.locator("#session-user")).to_have_text(f"Signed in as {DEMO_USER}")
    row.get_by_role("button", name="Publish").click()
    expect(paywall.get_by_role("button", name=re.compile(r"^Buy for"))).to_have_text(
        "Buy for 1,000 ₸"
    )
    check_a11y(page, axe_js, "paywall, en after switching")
