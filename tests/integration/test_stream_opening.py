"""Opening a status stream on the stream process: with every pooled connection taken it
answers 503 with Retry-After at once (it used to wait the pool's 30 s, then answer 500),
a HEAD request answers the headers and holds no stream, and a process that holds as many
streams as its descriptors allow refuses the next one with 503."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.conftest import auth, token_for
from tests.integration.conftest import service_env
from tests.integration.test_push_stream import events_url, pending_tx
from tests.support import sse
from tests.support.processes import http_ready, start_server, wait_until
from tests.support.stream_server import start_stream_server, stream_argv

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


# parked.py keeps FD_RESERVE (1024) descriptors for everything else.
FD_LIMIT = 1100
CAPACITY = FD_LIMIT - 1024


@pytest.fixture
def few_fds_stream(app_config, kaspi_stub) -> Iterator[str]:
    """A stream process started with 1,100 descriptors: room for 76 parked streams."""
    env = service_env(app_config, KASPI_BASE_URL=kaspi_stub, PUSH_HEARTBEAT_S="1")
    proc, base = start_server(
        "stream-few-fds",
        lambda port: ["prlimit", f"--nofile={FD_LIMIT}:{FD_LIMIT}", *stream_argv(port)],
        env,
        lambda url: http_ready(url + "/healthz")(),
    )
    try:
        yield base
    finally:
        proc.stop()


def open_raw_stream(base: str, tx_id: object, user: str) -> socket.socket:
    conn, received = sse.open_raw_stream(base, tx_id, token_for(user))
    assert received.startswith(b"HTTP/1.1 200"), received[:200]
    return conn


def test_a_process_holding_all_the_streams_its_descriptors_allow_refuses_the_next(
    app, clean_db, few_fds_stream
):
    tx = pending_tx(app, "crowd")
    held = [open_raw_stream(few_fds_stream, tx, "crowd") for _ in range(CAPACITY)]
    try:
        assert gauge(few_fds_stream, "billing_push_streams_parked") == CAPACITY
        refused = requests.get(
            events_url(few_fds_stream, tx), headers=auth("crowd"), timeout=10, stream=True
        )
        try:  # streamed: a stream, were it served, would never end by itself
            assert refused.status_code == 503
            assert int(refused.headers["Retry-After"]) >= 1
            assert refused.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
        finally:
            refused.close()
        assert gauge(few_fds_stream, "billing_push_streams_refused_total") == 1
        # One client leaves; once its next heartbeat fails, its place is free again.
        held.pop().close()
        wait_until(
            lambda: gauge(few_fds_stream, "billing_push_streams_parked") == CAPACITY - 1,
            timeout=15,
            message="the stream that left to end",
        )
        held.append(open_raw_stream(few_fds_stream, tx, "crowd"))
    finally:
        for conn in held:
            conn.close()
