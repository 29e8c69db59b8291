"""The paywall follows its purchase over the status stream: Paid with no status poll.

The page is served by its own API (sync gunicorn) and opens the stream on the stream
process (gunicorn, gevent) on another port, as `make run` does: the page's
``PUSH_PUBLIC_URL`` names the stream process, which allows the page's origin.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Request, expect

from tests.integration.conftest import service_env
from tests.support.processes import (
    Process,
    free_port,
    gunicorn_argv,
    http_ready,
    start_celery_beat,
    start_celery_worker,
    wait_until,
)
from tests.support.stream_server import stream_argv
from tests.support.stub_server import reset_faults
from tests.support.web import SETTLE_TIMEOUT_MS, create_event, open_paywall, sign_in
from tests.support.web_fixtures import *  # noqa: F403 - the browser fixtures

pytestmark = pytest.mark.integration

# A status poll: GET /api/billing/transactions/<id> or .../status (the stream ends in /events).
STATUS_POLL = re.compile(r"/api/billing/transactions/(status\b|[0-9a-f-]{36}/?(\?|$))")
STREAM = re.compile(r"/api/billing/transactions/[0-9a-f-]{36}/events$")


def is_stream(request: Request) -> bool:
    """The page's GET of the stream (not the CORS preflight before it)."""
    return request.method == "GET" and bool(STREAM.search(request.url))


def _stack(app_config, kaspi_stub, tmp_path, *, stream_down: bool) -> Iterator[tuple[str, str]]:
    reset_faults(kaspi_stub)
    api_port, stream_port = free_port(), free_port()
    api, stream = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{stream_port}"
    env = service_env(
        app_config,
        KASPI_BASE_URL=kaspi_stub,
        PUSH_PUBLIC_URL=stream,
        PUSH_ALLOWED_ORIGINS=api,
    )
    procs = [
        Process("push-api", gunicorn_argv(api_port, 2, "wsgi:app"), env).start(),
        start_celery_worker(env, name="push-worker"),
        start_celery_beat(env, tmp_path / "beat", name="push-beat"),
    ]
    if not stream_down:
        procs.append(Process("push-stream", stream_argv(stream_port), env).start())
    try:
        for url in (api,) if stream_down else (api, stream):
            wait_until(http_ready(url + "/healthz"), timeout=30, message=f"{url} to answer")
        yield api, stream
    finally:
        for proc in procs:
            proc.stop()
        reset_faults(kaspi_stub)


@pytest.fixture
def push_stack(clean_db, app_config, kaspi_stub, tmp_path) -> Iterator[tuple[str, str]]:
    """API + stream process on two ports, a worker and beat: answers (api, stream) URLs."""
    yield from _stack(app_config, kaspi_stub, tmp_path, stream_down=False)


@pytest.fixture
def stack_without_stream(clean_db, app_config, kaspi_stub, tmp_path):
    """The same, but the stream process the page names is not running."""
    yield from _stack(app_config, kaspi_stub, tmp_path, stream_down=True)


def test_the_paywall_turns_to_paid_over_the_stream_without_polling(push_stack, open_context):
    api, stream = push_stack
    page = open_context().new_page()
    requests_seen: list[str] = []
    page.on("request", lambda request: requests_seen.append(request.url))
    streams: list[Request] = []
    page.on("request", lambda r: streams.append(r) if is_stream(r) else None)

    sign_in(page, api)
    row, _ = create_event(page, "Streamed meetup", 200)
    paywall = open_paywall(page, row)
    with page.expect_request(is_stream) as opened:
        paywall.get_by_role("button", name=re.compile(r"^Buy for")).click()
    status = page.locator("#payment-status")
    expect(status).to_have_attribute("data-state", "pending")
    assert opened.value.url.startswith(stream + "/api/billing/transactions/")
    assert opened.value.headers.get("authorization", "").startswith("Bearer ")

    with page.context.expect_page() as new_tab:
        paywall.get_by_role("link", name="Open the Kaspi payment page").click()
    kaspi = new_tab.value
    kaspi.wait_for_url(re.compile(r"/pay/\d+$"))
    kaspi.get_by_role("button", name=re.compile(r"^Pay ")).click()
    expect(kaspi.get_by_role("alert")).to_contain_text("Payment confirmed")

    expect(status).to_have_attribute("data-state", "completed", timeout=SETTLE_TIMEOUT_MS)
    expect(page.locator("#paywall-title")).to_have_text("Payment received")
    polls = [url for url in requests_seen if STATUS_POLL.search(url)]
    assert polls == [], f"the page polled the status: {polls}"
    # One stream was enough: it stayed open until the final status.
    assert len(streams) == 1, [r.url for r in streams]


def test_without_its_stream_the_paywall_polls_and_still_turns_to_paid(
    stack_without_stream, open_context
):
    api, _ = stack_without_stream
    page = open_context().new_page()
    sign_in(page, api)
    row, _ = create_event(page, "Polled meetup", 200)
    paywall = open_paywall(page, row)
    # The stream is tried (twice), then the page polls the status.
    with page.expect_request(lambda r: bool(STATUS_POLL.search(r.url)), timeout=20_000):
        paywall.get_by_role("button", name=re.compile(r"^Buy for")).click()
    status = page.locator("#payment-status")
    with page.context.expect_page() as new_tab:
        paywall.get_by_role("link", name="Open the Kaspi payment page").click()
    kaspi = new_tab.value
    kaspi.wait_for_url(re.compile(r"/pay/\d+$"))
    kaspi.get_by_role("button", name=re.compile(r"^Pay ")).click()
    expect(status).to_have_attribute("data-state", "completed", timeout=SETTLE_TIMEOUT_MS)
