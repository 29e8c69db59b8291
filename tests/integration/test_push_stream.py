"""Push status with real processes: the gevent stream process, Celery, the Kaspi stub,
PostgreSQL and Redis (the machine's, and for the outage test one of our own)."""

from __future__ import annotations

import re
import shutil
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import redis as redis_lib
import requests
from sqlalchemy import update

from app import create_app
from app.billing.core.models import Transaction
from app.billing.settle import manual
from app.db import step
from app.extensions import db
from tests.conftest import auth, token_for
from tests.integration.conftest import service_env
from tests.support.factories import make_transaction, make_user
from tests.support.processes import (
    Process,
    free_port,
    start_celery_beat,
    start_celery_worker,
    wait_until,
)
from tests.support.sse import SseClient, open_raw_stream
from tests.support.stream_server import start_stream_server
from tests.support.stub_server import confirm_payment, reset_faults

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stream_server(app_config, kaspi_stub) -> Iterator[str]:
    env = service_env(app_config, KASPI_BASE_URL=kaspi_stub, PUSH_HEARTBEAT_S="1")
    proc, base = start_stream_server("stream", env)
    try:
        yield base
    finally:
        proc.stop()


def events_url(base: str, tx_id: object) -> str:
    return f"{base}/api/billing/transactions/{tx_id}/events"


def pending_tx(app, user_id: str, poll_interval_s: int = 5) -> uuid.UUID:
    with app.app_context():
        tx = make_transaction(make_user(user_id))
        tx.poll_interval_s = poll_interval_s
        # Not due: only what a test does changes it.
        tx.next_poll_at = tx.expires_at
        db.session.commit()
        return tx.id


def settle_paid(application, tx_id: uuid.UUID) -> float:
    """Complete the transaction through the status machine; answers the COMMIT's time."""
    with application.app_context(), step():
        manual.settle_now(tx_id, "paid", source="cli")
    return time.monotonic()


def test_stream_sees_pending_then_completed_after_a_stub_payment_without_polling(
    clean_db, api_server, stream_server, kaspi_stub, worker_env, tmp_path
):
    reset_faults(kaspi_stub)
    worker = start_celery_worker(worker_env)
    beat = start_celery_beat(worker_env, tmp_path / "beat")
    try:
        intent = requests.post(
            f"{api_server}/api/billing/purchase-intent",
            json={"product_code": "EVENT_UPGRADE_500"},
            headers=auth("buyer"),
            timeout=30,
        ).json()
        stream = SseClient(events_url(stream_server, intent["transaction_id"]), token_for("buyer"))
        assert stream.status_code == 200
        assert stream.response.headers["Content-Type"].startswith("text/event-stream")
        first = stream.next_status(timeout=10)
        assert first is not None and first.event == "status"
        assert first.json()["status"] == "pending"
        assert first.json()["transaction_id"] == intent["transaction_id"]
        # The same body as GET /api/billing/transactions/<id>, but for its fiscal
        # receipts (issued after payment), which are read there and not pushed.
        same = requests.get(
            f"{api_server}/api/billing/transactions/{intent['transaction_id']}",
            headers=auth("buyer"),
            timeout=10,
        ).json()
        assert same.pop("receipts") == []
        assert first.json() == same

        confirm_payment(kaspi_stub, intent["payment"]["payment_id"])
        done = stream.next_status(timeout=40)
        assert done is not None, "the stream closed without the completed event"
        assert done.json()["status"] == "completed"
        assert int(done.id) > int(first.id)
        # A final status ends the stream.
        wait_until(stream.closed.is_set, timeout=10, message="the stream to close")
        assert stream.next_status(timeout=5) is None
    finally:
        beat.stop()
        worker.stop()


def test_someone_elses_or_a_missing_transaction_is_404_json_before_any_stream(
    app, clean_db, stream_server
):
    tx_id = pending_tx(app, "owner")
    for url in (events_url(stream_server, tx_id), events_url(stream_server, uuid.uuid4())):
        response = requests.get(url, headers=auth("intruder"), timeout=10)
        assert response.status_code == 404
        assert response.headers["Content-Type"].startswith("application/json")
        assert response.json()["error"]["code"] == "TRANSACTION_NOT_FOUND"
    not_a_uuid = requests.get(events_url(stream_server, "nope"), headers=auth("owner"), timeout=10)
    assert not_a_uuid.status_code == 404
    assert not_a_uuid.json()["error"]["code"] == "TRANSACTION_NOT_FOUND"
    anonymous = requests.get(events_url(stream_server, tx_id), timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "UNAUTHENTICATED"


def test_each_change_arrives_within_a_second_of_its_commit_with_heartbeats_between(
    app, clean_db, stream_server
):
    tx_id = pending_tx(app, "watcher", poll_interval_s=60)
    stream = SseClient(events_url(stream_server, tx_id), token_for("watcher"))
    first = stream.next_status(timeout=10)
    assert first.json()["status"] == "pending"
    heartbeat = stream.next(timeout=5)  # PUSH_HEARTBEAT_S=1 in this server
    assert heartbeat is not None and heartbeat.comments and not heartbeat.data
    committed = settle_paid(app, tx_id)
    done = stream.next_status(timeout=5)
    assert done.json()["status"] == "completed"
    # Far sooner than the 60 s fallback read: the pub/sub notice woke it.
    assert done.received_at - committed < 1.0


def test_reconnect_with_last_event_id_loses_nothing(app, clean_db, app_config, kaspi_stub):
    env = service_env(
        app_config, KASPI_BASE_URL=kaspi_stub, PUSH_HEARTBEAT_S="1", PUSH_MAX_STREAM_S="2"
    )
    proc, base = start_stream_server("stream-short", env)
    try:
        tx_id = pending_tx(app, "reconnecter", poll_interval_s=60)
        stream = SseClient(events_url(base, tx_id), token_for("reconnecter"))
        first = stream.next_status(timeout=10)
        assert first.json()["status"] == "pending"
        # The maximum duration ends the stream with a retry hint.
        hint = None
        while (item := stream.next(timeout=10)) is not None:
            hint = item.retry if item.retry is not None else hint
        assert hint is not None and hint > 0
        # The change happens while the client is away.
        settle_paid(app, tx_id)
        again = SseClient(events_url(base, tx_id), token_for("reconnecter"), last_event_id=first.id)
        now = again.next_status(timeout=5)
        assert now.json()["status"] == "completed"
        assert int(now.id) > int(first.id)
        wait_until(again.closed.is_set, timeout=10, message="the final stream to close")
    finally:
        proc.stop()


@pytest.fixture
def own_redis(tmp_path) -> Iterator[tuple[str, callable, callable]]:
    """A redis-server of this test's own on a free port: the test stops and restarts it."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is needed for the outage test", pytrace=False)
    port = free_port()
    argv = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    argv += ["--dir", str(tmp_path)]
    holder: dict[str, Process] = {}
    url = f"redis://127.0.0.1:{port}/0"

    def start() -> None:
        holder["proc"] = Process(f"redis-{port}", argv, {}).start()
        client = redis_lib.Redis.from_url(url, socket_connect_timeout=0.5)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis_lib.RedisError:
                return False

        wait_until(answers, timeout=15, message="our redis-server")

    def stop() -> None:
        holder["proc"].kill9()

    start()
    try:
        yield url, stop, start
    finally:
        if holder["proc"].alive():
            holder["proc"].stop()


def test_a_stream_survives_a_redis_restart_falling_back_then_resuming(
    app, clean_db, app_config, kaspi_stub, own_redis
):
    url, stop_redis, start_redis = own_redis
    env = service_env(app_config, KASPI_BASE_URL=kaspi_stub, REDIS_URL=url, PUSH_HEARTBEAT_S="1")
    proc, base = start_stream_server("stream-redis", env)
    publisher = create_app({**app_config, "REDIS_URL": url})
    try:
        # One transaction polled every second when Redis is away, one every minute.
        during = pending_tx(app, "survivor", poll_interval_s=1)
        after = pending_tx(app, "survivor", poll_interval_s=60)
        s_during = SseClient(events_url(base, during), token_for("survivor"))
        s_after = SseClient(events_url(base, after), token_for("survivor"))
        assert s_during.next_status(timeout=10).json()["status"] == "pending"
        assert s_after.next_status(timeout=10).json()["status"] == "pending"
        subscribed = proc.log_path.read_text().count("push hub subscribed to redis")

        stop_redis()
        wait_until(
            lambda: "push hub lost redis" in proc.log_path.read_text(),
            timeout=15,
            message="the stream process to notice Redis is gone",
        )
        settle_paid(publisher, during)  # its notice cannot be published
        done = s_during.next_status(timeout=10)
        assert done is not None and done.json()["status"] == "completed"

        start_redis()
        wait_until(
            lambda: proc.log_path.read_text().count("push hub subscribed to redis") > subscribed,
            timeout=20,
            message="the stream process to subscribe again",
        )
        committed = settle_paid(publisher, after)
        resumed = s_after.next_status(timeout=10)
        assert resumed is not None and resumed.json()["status"] == "completed"
        # Pub/sub again, not the 60 s fallback read.
        assert resumed.received_at - committed < 2.0
    finally:
        with publisher.app_context():
            db.engine.dispose()
        proc.stop()


def test_an_open_stream_brings_the_kaspi_check_forward_but_not_sooner_than_its_interval(
    app, clean_db, stream_server
):
    tx_id = pending_tx(app, "hurried", poll_interval_s=7)
    with app.app_context():
        far = db.session.get(Transaction, tx_id).next_poll_at
    stream = SseClient(events_url(stream_server, tx_id), token_for("hurried"))
    assert stream.next_status(timeout=10) is not None

    def brought_forward():
        with app.app_context():
            when = db.session.get(Transaction, tx_id).next_poll_at
            db.session.remove()
        return when if when < far else None

    hurried = wait_until(brought_forward, timeout=10, message="the check to be brought forward")
    # About now + 7 s: never sooner than Kaspi's interval.
    remaining = (hurried - datetime.now(UTC)).total_seconds()
    assert 3.0 < remaining <= 7.5
    # A row due sooner than that is left alone.
    with app.app_context():
        db.session.execute(
            update(Transaction)
            .where(Transaction.id == tx_id)
            .values(next_poll_at=Transaction.created_at)
        )
        db.session.commit()
    # Nothing to wait for but time: two hurry periods (PUSH_HURRY_EVERY_S = 1) pass.
    time.sleep(2.5)
    with app.app_context():
        row = db.session.get(Transaction, tx_id)
        assert row.next_poll_at == row.created_at
    stream.close()


def gauge(base: str, name: str) -> float:
    body = requests.get(f"{base}/metrics", timeout=10).text
    found = re.search(rf"^{name}(?:{{[^}}]*}})? (\S+)$", body, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_waiting_streams_are_parked_and_a_change_reaches_every_stream_of_it(
    app, clean_db, stream_server
):
    watched = pending_tx(app, "parked-buyer", poll_interval_s=60)
    other = pending_tx(app, "parked-other", poll_interval_s=60)
    # Streams of earlier tests end once their closed sockets are noticed (heartbeat 1 s).
    wait_until(
        lambda: gauge(stream_server, "billing_push_streams_open") == 0,
        timeout=15,
        message="no stream open",
    )
    streams = [
        SseClient(events_url(stream_server, watched), token_for("parked-buyer")) for _ in range(3)
    ]
    bystander = SseClient(events_url(stream_server, other), token_for("parked-other"))
    try:
        for stream in [*streams, bystander]:
            assert stream.next_status(timeout=10).json()["status"] == "pending"
        # Each waits parked (no greenlet of its own), and each was counted as open.
        wait_until(
            lambda: gauge(stream_server, "billing_push_streams_parked") == 4,
            timeout=10,
            message="four parked streams",
        )
        assert gauge(stream_server, "billing_push_streams_open") == 4

        settle_paid(app, watched)
        for stream in streams:
            done = stream.next_status(timeout=5)
            assert done is not None and done.json()["status"] == "completed"
            wait_until(stream.closed.is_set, timeout=10, message="the stream to end")
            assert stream.error is None  # a clean end of the chunked body, not a broken one
        wait_until(
            lambda: gauge(stream_server, "billing_push_streams_parked") == 1,
            timeout=10,
            message="only the other transaction's stream parked",
        )
        # The other transaction's stream still waits, with its heartbeats.
        assert not bystander.closed.is_set()
        beat = bystander.next(timeout=5)
        assert beat is not None and beat.comments and not beat.data
    finally:
        for stream in [*streams, bystander]:
            stream.close()


def test_an_http_1_0_client_gets_the_stream_unchunked_until_the_connection_closes(
    app, clean_db, stream_server
):
    tx_id = pending_tx(app, "old-client", poll_interval_s=60)
    conn, received = open_raw_stream(stream_server, tx_id, token_for("old-client"), "HTTP/1.0")
    with conn:
        head, _, body = received.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.0 200")
        assert b"transfer-encoding" not in head.lower()
        assert body.startswith(b"id: ")  # the event itself, no chunk size before it
        settle_paid(app, tx_id)
        while chunk := conn.recv(65536):
            received += chunk
    assert received.count(b"event: status\n") == 2
    assert b'"status":"completed"' in received


def test_stopping_the_stream_process_ends_its_parked_streams_with_a_retry_hint(
    app, clean_db, app_config, kaspi_stub
):
    env = service_env(app_config, KASPI_BASE_URL=kaspi_stub, PUSH_HEARTBEAT_S="1")
    proc, base = start_stream_server("stream-stopping", env)
    try:
        tx_id = pending_tx(app, "left-behind", poll_interval_s=60)
        stream = SseClient(events_url(base, tx_id), token_for("left-behind"))
        assert stream.next_status(timeout=10).json()["status"] == "pending"
        wait_until(
            lambda: gauge(base, "billing_push_streams_parked") == 1,
            timeout=10,
            message="the stream parked",
        )
        proc.stop()  # SIGTERM, as systemd and `make run` stop it
        hints = []
        while (item := stream.next(timeout=20)) is not None:
            if item.retry is not None:
                hints.append(item.retry)
        # Told to come back (to the next process) at once, in a body that ended cleanly.
        assert hints == [1000]
        assert stream.error is None
    finally:
        proc.stop()
