"""Opening a status stream on the stream process: with every pooled connection taken it
answers 503 with Retry-After at once (it used to wait the pool's 30 s, then answer 500),
and a HEAD request answers the headers and holds no stream."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.conftest import auth
from tests.integration.conftest import service_env
from tests.integration.test_push_stream import events_url, pending_tx
from tests.support.processes import wait_until
from tests.support.stream_server import start_stream_server

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def small_pool_stream(app_config, kaspi_stub) -> Iterator[str]:
    """A stream process whose pool holds one connection, and waits 30 s for it (the default)."""
    env = service_env(
        app_config,
        KASPI_BASE_URL=kaspi_stub,
        DATABASE_POOL_SIZE="1",
        DATABASE_MAX_OVERFLOW="0",
        PUSH_HEARTBEAT_S="1",
    )
    proc, base = start_stream_server("stream-small-pool", env)
    try:
        yield base
    finally:
        proc.stop()


def gauge(base: str, name: str) -> float:
    body = requests.get(f"{base}/metrics", timeout=10).text
    found = re.search(rf"^{name}(?:{{[^}}]*}})? (\S+)$", body, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_a_full_pool_answers_503_with_retry_after_at_once(
    app, app_config, clean_db, small_pool_stream
):
    held_tx = pending_tx(app, "buyer")
    other_tx = pending_tx(app, "buyer")
    locker = create_engine(app_config["SQLALCHEMY_DATABASE_URI"])
    answers: dict[str, requests.Response] = {}
    try:
        with locker.connect() as conn:
            # The first stream's read waits behind this lock, holding the pool's one connection.
            conn.execute(text("LOCK TABLE transactions IN ACCESS EXCLUSIVE MODE"))

            def first() -> None:
                answers["held"] = requests.get(
                    events_url(small_pool_stream, held_tx),
                    headers=auth("buyer"),
                    timeout=60,
                    stream=True,
                )

            opener = threading.Thread(target=first, daemon=True)
            opener.start()
            # Asked on a connection of its own: a transaction sees one snapshot of the view.
            with locker.connect().execution_options(isolation_level="AUTOCOMMIT") as watcher:
                wait_until(
                    lambda: watcher.execute(
                        text(
                            "SELECT count(*) FROM pg_locks WHERE NOT granted"
                            " AND relation = 'transactions'::regclass"
                        )
                    ).scalar(),
                    timeout=15,
                    message="the first stream's read to wait on the lock",
                )
            started = time.monotonic()
            refused = requests.get(
                events_url(small_pool_stream, other_tx), headers=auth("buyer"), timeout=60
            )
            took = time.monotonic() - started
            conn.rollback()
        assert refused.status_code == 503, refused.text[:300]
        assert took < 2.0, took
        assert int(refused.headers["Retry-After"]) >= 1
        assert refused.headers["Content-Type"].startswith("application/json")
        assert refused.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
        opener.join(timeout=30)
        # The first one, once the lock is gone, streams as usual.
        assert answers["held"].status_code == 200
        answers["held"].close()
        assert gauge(small_pool_stream, "billing_push_streams_refused_total") >= 1
    finally:
        locker.dispose()


def test_head_answers_the_headers_and_holds_no_stream(app, clean_db, small_pool_stream):
    tx = pending_tx(app, "buyer")
    # A stream of an earlier test ends once its closed socket is noticed (heartbeat 1 s).
    wait_until(
        lambda: gauge(small_pool_stream, "billing_push_streams_open") == 0,
        timeout=15,
        message="no stream open",
    )
    before = gauge(small_pool_stream, "billing_push_events_sent_total")
    answer = requests.head(events_url(small_pool_stream, tx), headers=auth("buyer"), timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/event-stream")
    # Nothing was streamed and nothing stays open on the server.
    assert gauge(small_pool_stream, "billing_push_streams_open") == 0
    assert gauge(small_pool_stream, "billing_push_events_sent_total") == before
    # Someone else's transaction is a 404 for HEAD too, as for GET.
    assert (
        requests.head(
            events_url(small_pool_stream, tx), headers=auth("intruder"), timeout=10
        ).status_code
        == 404
    )
