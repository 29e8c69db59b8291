"""Parked streams (app/billing/stream/parked.py): each client is one end of a socket
pair, the transactions are real rows, and the ticker's clock is the one the test hands
to ``tick``. The gunicorn stream process that parks them is tested in the integration
tier (tests/integration/test_push_stream.py)."""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace

import gevent
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import event

from app.billing.settle import manual
from app.billing.stream import snapshot
from app.billing.stream.parked import READ_CONCURRENCY, Parking
from app.extensions import db
from tests.support.factories import make_transaction, make_user

pytestmark = pytest.mark.db

HEARTBEAT_S = 15.0
MAX_S = 300.0


class QuietHub:
    """The hub's surface the parking uses, without Redis: the test delivers the notices."""

    connected = True

    def __init__(self) -> None:
        self.subscribed: dict[str, set] = {}

    def subscribe(self, key: str, item) -> None:
        self.subscribed.setdefault(key, set()).add(item)

    def unsubscribe(self, key: str, item) -> None:
        group = self.subscribed.get(key, set())
        group.discard(item)
        if not group:
            self.subscribed.pop(key, None)

    def notice(self, key: str) -> None:
        for item in list(self.subscribed.get(key, ())):
            item.wake()


@pytest.fixture
def hub() -> QuietHub:
    return QuietHub()


@pytest.fixture
def parking(app, db_session, hub) -> Iterator[Parking]:
    parked = Parking(app, hub, HEARTBEAT_S, MAX_S, retry_ms=1000)  # type: ignore[arg-type]
    try:
        yield parked
    finally:
        parked._ticker.kill()
        for stream in list(parked._streams):
            parked.end(stream, "client_closed")
        gevent.sleep(0.05)  # a slow client's pending write finds it gone and closes


def ended(reason: str) -> float:
    return REGISTRY.get_sample_value("billing_push_streams_ended_total", {"reason": reason}) or 0.0


CLIENTS: list[socket.socket] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while CLIENTS:
        CLIENTS.pop().close()


def park_client(parking: Parking, tx_id: uuid.UUID, user_id: str, started: float) -> socket.socket:
    """A client on a parked stream (as handover.py leaves it: first event already sent)."""
    server_end, client_end = socket.socketpair()
    CLIENTS.append(client_end)
    fd = os.dup(server_end.fileno())
    server_end.close()
    os.set_blocking(fd, False)
    first = snapshot.read(user_id, tx_id)
    assert first is not None
    parking.park(fd, first, user_id, tx_id, True, started, woken_meanwhile=False)
    client_end.setblocking(False)
    return client_end


def received(client: socket.socket) -> bytes:
    try:
        return client.recv(65536)
    except BlockingIOError:
        return b"<nothing>"


def read_until_closed(client: socket.socket, timeout: float = 10.0) -> bytes:
    """Everything the server sends until it closes, letting the parking's greenlets run."""
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        gevent.sleep(0.01)
        try:
            chunk = client.recv(65536)
        except BlockingIOError:
            continue
        if not chunk:
            return data
        data += chunk
    raise AssertionError(f"still open after {timeout}s; got {data!r}")


def test_heartbeats_and_the_maximum_duration_come_from_the_ticker(parking, db_session):
    tx = make_transaction(make_user("parked-owner"))
    db_session.commit()
    client = park_client(parking, tx.id, "parked-owner", started=1000.0)
    assert parking.parked == 1
    before = ended("max_duration")

    parking.tick(1000.0 + HEARTBEAT_S - 1)
    assert received(client) == b"<nothing>"
    parking.tick(1000.0 + HEARTBEAT_S)
    assert received(client) == b"e\r\n: keep-alive\n\n\r\n"
    # The next heartbeat counts from the last one.
    parking.tick(1000.0 + HEARTBEAT_S + 1)
    assert received(client) == b"<nothing>"

    parking.tick(1000.0 + MAX_S)
    tail = read_until_closed(client)
    assert b"retry: 1000\n: reconnect with Last-Event-ID\n\n" in tail
    assert tail.endswith(b"\r\n0\r\n\r\n")  # the chunked body's end, then the close
    assert parking.parked == 0
    assert ended("max_duration") == before + 1


def test_a_notice_reads_the_transaction_once_for_all_of_its_streams(app, parking, hub, db_session):
    owner, other_owner = make_user("parked-many"), make_user("parked-other")
    tx, other = make_transaction(owner), make_transaction(other_owner)
    db_session.commit()
    watching = [park_client(parking, tx.id, "parked-many", time.monotonic()) for _ in range(3)]
    bystander = park_client(parking, other.id, "parked-other", time.monotonic())
    # One subscription per transaction, not per stream.
    assert len(hub.subscribed[str(tx.id)]) == 1

    manual.settle_now(tx.id, "paid", source="cli")
    tx_key = str(tx.id)
    db_session.commit()
    reads: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if "FROM transactions" in statement:
            reads.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        hub.notice(tx_key)
        bodies = [read_until_closed(client) for client in watching]
    finally:
        event.remove(db.engine, "before_cursor_execute", count)

    assert len(reads) == 1, "\n\n".join(reads)
    for body in bodies:
        assert b"event: status\n" in body and b'"status":"completed"' in body
        assert body.endswith(b"\r\n0\r\n\r\n")
    # The other transaction's stream saw nothing and still waits.
    assert received(bystander) == b"<nothing>"
    assert parking.parked == 1
    assert tx_key not in hub.subscribed


def test_a_client_that_left_is_dropped_at_the_next_write(parking, hub, db_session):
    tx = make_transaction(make_user("parked-leaver"))
    db_session.commit()
    client = park_client(parking, tx.id, "parked-leaver", started=1000.0)
    before = ended("client_closed")
    client.close()

    parking.tick(1000.0 + HEARTBEAT_S)

    assert parking.parked == 0
    assert ended("client_closed") == before + 1
    assert str(tx.id) not in hub.subscribed


def test_a_client_that_reads_nothing_holds_up_no_other(app, hub, db_session):
    parking = Parking(app, hub, HEARTBEAT_S, 1e9, retry_ms=1000)  # type: ignore[arg-type]
    parking._ticker.kill()
    tx = make_transaction(make_user("parked-slow"))
    db_session.commit()
    slow = park_client(parking, tx.id, "parked-slow", started=1000.0)
    quick = park_client(parking, tx.id, "parked-slow", started=1000.0)
    # Heartbeats until the slow client's socket buffer is full: the rest waits in `pending`.
    now = 1000.0
    stuck: list = []
    for _ in range(100_000):
        now += HEARTBEAT_S
        parking.tick(now)
        while received(quick) not in (b"<nothing>", b""):
            pass
        stuck = [stream for stream in parking._streams if stream.pending]
        if stuck:
            break
    assert len(stuck) == 1
    assert parking.parked == 2
    # The quick one still gets each heartbeat at once.
    parking.tick(now + HEARTBEAT_S)
    assert received(quick) == b"e\r\n: keep-alive\n\n\r\n"
    # Once the slow client goes, its pending write fails and the stream ends.
    before = ended("client_closed")
    slow.close()
    deadline = time.monotonic() + 10
    while parking.parked == 2 and time.monotonic() < deadline:
        gevent.sleep(0.01)
    assert parking.parked == 1
    assert ended("client_closed") == before + 1
    parking.end(next(iter(parking._streams)), "client_closed")


def test_a_reread_older_than_what_a_client_saw_is_not_sent(parking, hub, db_session, monkeypatch):
    """A group's re-read that began before a later client's own first read can return an
    older state than that client was sent: it must not reach that client."""
    tx = make_transaction(make_user("parked-order"))
    db_session.commit()
    older = snapshot.read("parked-order", tx.id)
    assert older is not None
    client = park_client(parking, tx.id, "parked-order", started=1000.0)
    stream = next(iter(parking._streams))
    stream.seen = replace(older, event_id=older.event_id + 1, status="needs_review")
    monkeypatch.setattr(parking, "_read", lambda group: older)

    hub.notice(str(tx.id))
    gevent.sleep(0.05)

    assert received(client) == b"<nothing>"
    assert stream.seen.event_id == older.event_id + 1


def test_rereads_woken_together_go_through_the_pool_a_few_at_a_time(
    parking, hub, db_session, monkeypatch
):
    """A Redis reconnect wakes every group at once: their reads queue for the parking's
    own limit instead of racing for the pool (where most would time out)."""
    owner = make_user("parked-crowd")
    txs = [make_transaction(owner) for _ in range(READ_CONCURRENCY * 3)]
    db_session.commit()
    for tx in txs:
        park_client(parking, tx.id, "parked-crowd", started=1000.0)
    running = {"now": 0, "most": 0, "reads": 0}
    real_read = snapshot.read

    def slow_read(user_id: str, transaction_id: uuid.UUID):
        running["now"] += 1
        running["most"] = max(running["most"], running["now"])
        try:
            gevent.sleep(0.02)
            return real_read(user_id, transaction_id)
        finally:
            running["now"] -= 1
            running["reads"] += 1

    monkeypatch.setattr(snapshot, "read", slow_read)
    for tx in txs:
        hub.notice(str(tx.id))
    deadline = time.monotonic() + 10
    while running["reads"] < len(txs) and time.monotonic() < deadline:
        gevent.sleep(0.01)

    assert running["reads"] == len(txs)
    assert running["most"] == READ_CONCURRENCY
