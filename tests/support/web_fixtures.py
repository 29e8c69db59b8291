"""Browser-test fixtures: Debian's Chromium under Playwright and the worker stack.

Test modules take them with ``from tests.support.web_fixtures import *``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.integration.conftest import service_env
from tests.support.processes import start_celery_beat, start_celery_worker
from tests.support.stub_server import reset_faults
from tests.support.web import CHROMIUM, CHROMIUM_ARGS, DESKTOP, Shots, axe_source

__all__ = ["axe_js", "browser", "open_context", "shots", "web_stack", "web_workers"]


@pytest.fixture(scope="session")
def axe_js() -> str:
    return axe_source()


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


@pytest.fixture(scope="module")
def web_workers(api_server, kaspi_stub, app_config, tmp_path_factory) -> Iterator[None]:
    """One Celery worker and beat polling Kaspi often, shared by one file's browser tests.

    Stopped at the end of the file: left running, they would settle (and lease) the
    transactions of whatever test runs next in this process, with its own workers."""
    env = service_env(
        app_config,
        KASPI_BASE_URL=kaspi_stub,
        POLL_INITIAL_DELAY_S="0.2",
        POLL_MAX_DELAY_S="0.5",
        SWEEP_INTERVAL_S="0.3",
    )
    procs = [
        start_celery_worker(env, name="web-worker"),
        start_celery_beat(env, tmp_path_factory.mktemp("beat") / "schedule", name="web-beat"),
    ]
    try:
        yield
    finally:
        for proc in procs:
            proc.stop()


@pytest.fixture
def web_stack(clean_db, api_server, kaspi_stub, web_workers) -> Iterator[str]:
    reset_faults(kaspi_stub)
    yield api_server
    reset_faults(kaspi_stub)


@pytest.fixture
def shots(request) -> Shots:
    return Shots(request.node.name)


@pytest.fixture
def open_context(browser: Browser, shots: Shots) -> Iterator:
    """Opens browser contexts (viewport, locale) that fail the test on script errors."""
    contexts: list[BrowserContext] = []
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

    def make(viewport: dict | None = None, locale: str = "en-US") -> BrowserContext:
        context = browser.new_context(viewport=viewport or DESKTOP, locale=locale)
        context.set_default_timeout(15_000)
        context.on("page", watch)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        for index, page in enumerate(context.pages):
            if not page.is_closed():
                # A rewriting handler may be mid-request while the page still polls.
                page.unroute_all(behavior="ignoreErrors")
                shots.take(page, f"final-tab{index}")
        context.close()
    assert not problems, problems
