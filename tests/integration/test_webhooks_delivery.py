"""Webhooks on real servers: purchases paid at the Kaspi stub reach a real receiver.

gunicorn API, Celery worker and beat, the Kaspi stub over HTTP, PostgreSQL and
Redis, and a threaded HTTP receiver (tests/support/webhook_receiver.py) that
verifies every request with the reference library, ``standardwebhooks``, and logs
every one of them, failed ones included.

Proven here: signed deliveries with consecutive sequences per ordering key; a
receiver that is down then failing gets everything afterwards, in order, each
``webhook-id`` unchanged across retries; a relay killed with ``kill -9`` mid-POST
loses nothing; a broker stopped while purchases settle leaves the outbox to grow
and drain when it returns.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import text
from standardwebhooks import Webhook, WebhookVerificationError

from app.db import edge
from app.extensions import db
from app.webhooks import endpoints
from app.webhooks.catalogue import EventType
from app.webhooks.signing import new_secret
from tests.conftest import auth
from tests.integration.conftest import service_env
from tests.support.processes import (
    Process,
    bin_path,
    start_celery_beat,
    start_celery_worker,
    wait_until,
)
from tests.support.redis_server import RedisServer
from tests.support.stub_server import confirm_payment, reset_faults
from tests.support.supervisor import Supervised
from tests.support.webhook_receiver import Received, WebhookReceiver

pytestmark = pytest.mark.integration

# What the other test_webhooks_*.py files take from here (``import *``: the fixtures).
__all__ = [
    "FAST_RELAY",
    "all_completed",
    "assert_in_order_per_key",
    "buy_and_pay",
    "cli",
    "deliveries_by_state",
    "new_user",
    "outbox",
    "receiver",
    "register",
    "rows",
    "stub",
    "webhook_tables",
]

WEBHOOK_TABLES = (
    "webhook_attempts",
    "webhook_deliveries",
    "webhook_endpoints",
    "outbox_events",
    "outbox_sequences",
)
# Fast relaying for the tier: beat sweeps twice a second.
FAST_RELAY = {"WEBHOOK_RELAY_INTERVAL_S": "0.5"}


# -- fixtures and helpers ------------------------------------------------------------


@pytest.fixture
def webhook_tables(app) -> Iterator[None]:
    """No endpoint, event or sequence from another test (before and after: an endpoint
    left behind would have every later test's events queued for it)."""
    _truncate(app)
    yield
    _truncate(app)


def _truncate(app) -> None:
    with app.app_context():
        try:
            db.session.execute(text(f"TRUNCATE {', '.join(WEBHOOK_TABLES)} CASCADE"))
            db.session.commit()
        finally:
            db.session.remove()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver().start()
    yield server
    server.stop()


@pytest.fixture
def stub(kaspi_stub) -> Iterator[str]:
    reset_faults(kaspi_stub)
    yield kaspi_stub
    reset_faults(kaspi_stub)


def new_user() -> str:
    return f"wh-{uuid.uuid4().hex[:10]}"


# The money facts these tests follow: the receipts the register stub issues meanwhile
# (receipt.issued) are another endpoint's business, and would only add to the counts.
MONEY_EVENTS = sorted(
    t.value for t in EventType if t.value.split(".")[0] in ("transaction", "credit")
)


def register(app, url: str) -> dict[str, str]:
    """The same service the CLI calls, committed by the same edge: ``{"id", "secret"}``."""
    with app.app_context():
        try:
            with edge():
                endpoint = endpoints.add(url, MONEY_EVENTS)
                created = {"id": endpoint.id, "secret": endpoint.secret}
        finally:
            db.session.remove()
    return created


def cli(env: dict[str, str], *args: str) -> Any:
    """``flask --app wsgi billing webhooks ARGS``: its JSON output."""
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "billing", "webhooks", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def buy(api: str, user: str) -> tuple[str, str]:
    """A purchase intent: (transaction id, Kaspi payment id)."""
    response = requests.post(
        f"{api}/api/billing/purchase-intent",
        json={"product_code": "EVENT_UPGRADE_500", "quantity": 1},
        headers=auth(user),
        timeout=30,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return body["transaction_id"], body["payment"]["payment_id"]


def buy_and_pay(api: str, stub_url: str, user: str) -> str:
    tx_id, payment_id = buy(api, user)
    confirm_payment(stub_url, payment_id)
    return tx_id


def rows(app, sql: str, **params) -> list[dict]:
    with app.app_context():
        try:
            return [dict(r._mapping) for r in db.session.execute(text(sql), params)]
        finally:
            db.session.remove()


def outbox(app) -> list[dict]:
    """The outbox's money facts (those the tests' endpoints take)."""
    return rows(
        app,
        "SELECT id, type, ordering_key, sequence FROM outbox_events"
        " WHERE type = ANY(:types) ORDER BY id",
        types=MONEY_EVENTS,
    )


def statuses(app, tx_ids: list[str]) -> dict[str, str]:
    found = rows(
        app,
        "SELECT CAST(id AS text) AS id, status FROM transactions "
        "WHERE CAST(id AS text) = ANY(:ids)",
        ids=tx_ids,
    )
    return {r["id"]: r["status"] for r in found}


def all_completed(app, tx_ids: list[str]) -> bool:
    return statuses(app, tx_ids) == dict.fromkeys(tx_ids, "completed")


def deliveries_by_state(app) -> dict[str, int]:
    found = rows(app, "SELECT state, count(*) AS n FROM webhook_deliveries GROUP BY state")
    return {r["state"]: r["n"] for r in found}


def first_arrivals(log: list[Received]) -> dict[str, float]:
    first: dict[str, float] = {}
    for r in log:
        if r.webhook_id and r.webhook_id not in first:
            first[r.webhook_id] = r.arrived_at
    return first


def assert_in_order_per_key(log: list[Received]) -> None:
    """Per ordering key: sequences delivered are 1..n, each delivered before the
    next one was even tried (any attempt of n+1 arrives after n's 2xx)."""
    delivered: dict[str, dict[int, Received]] = {}
    for r in log:
        if r.delivered and r.ordering_key and r.sequence is not None:
            delivered.setdefault(r.ordering_key, {}).setdefault(r.sequence, r)
    first = first_arrivals(log)
    for key, by_sequence in delivered.items():
        assert sorted(by_sequence) == list(range(1, len(by_sequence) + 1)), (key, by_sequence)
        for n in range(1, len(by_sequence)):
            later = by_sequence[n + 1]
            assert first[later.webhook_id] >= by_sequence[n].arrived_at, (
                f"{key}: sequence {n + 1} was tried before {n} was delivered"
            )


def worker_argv(name: str) -> list[str]:
    return [
        bin_path("celery"),
        "-A",
        "workers",
        "worker",
        "--loglevel",
        "INFO",
        "--concurrency",
        "2",
        "--pool",
        "prefork",
        "--hostname",
        f"{name}@%h",
        "--without-mingle",
        "--without-gossip",
    ]


# -- 1. signed, with consecutive sequences --------------------------------------------


def test_purchases_arrive_signed_with_consecutive_sequences_per_user(
    clean_db, webhook_tables, app, api_server, stub, worker_env, receiver, tmp_path
):
    env = {**worker_env, **FAST_RELAY}
    created = cli(env, "add", receiver.url, "--events", ",".join(MONEY_EVENTS))
    assert created["url"] == receiver.url and created["events"] == MONEY_EVENTS
    assert created["id"].startswith("ep_") and created["secret"].startswith("whsec_")
    receiver.secret = created["secret"]
    user = new_user()
    procs: list[Process] = [
        start_celery_worker(env, name="webhooks-worker"),
        start_celery_beat(env, tmp_path / "beat", name="webhooks-beat"),
    ]
    try:
        tx_ids = [buy_and_pay(api_server, stub, user) for _ in range(2)]
        wait_until(lambda: all_completed(app, tx_ids), timeout=40, message="both settled")
        events = outbox(app)
        assert len(events) == 4, events  # completed x2, granted x2
        log = receiver.wait_for_delivered({e["id"] for e in events}, timeout=30)
        # The relay records the answer just after the receiver gave it.
        wait_until(
            lambda: deliveries_by_state(app) == {"delivered": 4},
            timeout=20,
            message="the four deliveries recorded as delivered",
        )
    finally:
        for proc in procs:
            proc.stop()

    everything = receiver.received()
    assert everything and all(r.verified for r in everything), [r.headers for r in everything]
    # The check can fail: another secret does not verify what arrived.
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(everything[0].body, everything[0].headers)
    for r in everything:  # the attempt's own Unix time, not the event's
        assert abs(int(r.headers["webhook-timestamp"]) - r.arrived_at) < 10

    completed = sorted(
        (r for r in log if r.type == "transaction.completed"), key=lambda r: r.sequence
    )
    assert sorted(r.data["transaction_id"] for r in completed) == sorted(tx_ids)
    for r in completed:
        assert r.ordering_key == f"transaction:{r.data['transaction_id']}" and r.sequence == 1
        assert r.data["user_id"] == user and r.data["status"] == "completed"
        assert isinstance(r.data["amount"], str) and r.data["currency"] == "KZT"

    granted = [r for r in log if r.type == "credit.granted"]
    assert [r.ordering_key for r in granted] == [f"user:{user}"] * 2
    assert [r.sequence for r in granted] == [1, 2]  # consecutive, and in arrival order
    assert sorted(r.data["transaction_id"] for r in granted) == sorted(tx_ids)
    assert all(r.data["quantity"] == 1 and len(r.data["credit_ids"]) == 1 for r in granted)
    assert_in_order_per_key(everything)
    # Delivered once each, on the first attempt.
    assert len(everything) == 4
    attempts = rows(app, "SELECT attempts, last_status_code FROM webhook_deliveries")
    assert attempts == [{"attempts": 1, "last_status_code": 200}] * 4


# -- 2. receiver down, then failing ----------------------------------------------------


def test_receiver_down_then_failing_gets_everything_in_order_with_unchanged_ids(
    clean_db, webhook_tables, app, api_server, stub, worker_env, receiver, tmp_path
):
    # A short retry schedule, long enough in all (about 20 s) to outlast the outage.
    schedule = ",".join(["0.3", "0.5"] + ["1"] * 18)
    env = {**worker_env, **FAST_RELAY, "WEBHOOK_RETRY_SCHEDULE_S": schedule}
    receiver.secret = register(app, receiver.url)["secret"]
    receiver.refuse()
    buyers = [new_user(), new_user()]
    procs: list[Process] = [
        start_celery_worker(env, name="webhooks-worker"),
        start_celery_beat(env, tmp_path / "beat", name="webhooks-beat"),
    ]
    try:
        # Three purchases (two by one buyer) settle while connections are refused.
        tx_ids = [buy_and_pay(api_server, stub, user) for user in (buyers[0], buyers[1], buyers[0])]
        wait_until(lambda: all_completed(app, tx_ids), timeout=40, message="all settled")
        events = outbox(app)
        assert len(events) == 6, events
        heads = [e for e in events if e["sequence"] == 1]  # the first of each ordering key
        second = next(e for e in events if e["sequence"] == 2)

        def refused_attempts() -> set[str]:
            found = rows(
                app,
                "SELECT DISTINCT event_id FROM webhook_attempts "
                "WHERE status_code IS NULL AND error IS NOT NULL",
            )
            return {r["event_id"] for r in found}

        wait_until(
            lambda: {h["id"] for h in heads} <= refused_attempts(),
            timeout=30,
            message="every ordering key's first event refused at least once",
        )
        receiver.answer(500)

        def answered_500() -> set[str | None]:
            return {r.webhook_id for r in receiver.received() if r.status == 500}

        wait_until(
            lambda: {h["id"] for h in heads} <= answered_500(),
            timeout=30,
            message="every ordering key's first event answered 500",
        )
        failed_ids = answered_500()
        assert failed_ids == {h["id"] for h in heads}  # n+1 is not tried while n fails
        assert deliveries_by_state(app) == {"pending": 6}

        receiver.answer(200)
        receiver.wait_for_delivered({e["id"] for e in events}, timeout=40)
        wait_until(
            lambda: deliveries_by_state(app) == {"delivered": 6},
            timeout=20,
            message="the six deliveries recorded as delivered",
        )
    finally:
        for proc in procs:
            proc.stop()

    log = receiver.received()
    assert all(r.verified for r in log)
    # One webhook-id per event, kept across every retry: no attempt got a new one.
    assert {r.webhook_id for r in log} == {e["id"] for e in events}
    for event_id in failed_ids:
        tries = [r for r in log if r.webhook_id == event_id]
        assert [r.status for r in tries][-1] == 200 and 500 in {r.status for r in tries}
        assert len({r.body for r in tries}) == 1, "every retry carries the same bytes"
    # The attempts the receiver never saw (connection refused) carried the same id too.
    recorded = rows(
        app,
        "SELECT event_id, status_code FROM webhook_attempts ORDER BY id",
    )
    for head in heads:
        codes = [a["status_code"] for a in recorded if a["event_id"] == head["id"]]
        assert codes[0] is None and 500 in codes and codes[-1] == 200, codes
    assert_in_order_per_key(log)
    key_of_second = second["ordering_key"]
    assert [r.sequence for r in log if r.delivered and r.ordering_key == key_of_second] == [1, 2]


# -- 3. relay killed mid-delivery --------------------------------------------------------


def test_relay_killed_mid_delivery_loses_nothing(
    clean_db, webhook_tables, app, api_server, stub, worker_env, receiver, tmp_path
):
    # A short lease: what the dead relay claimed comes due again 2 s after its claim.
    env = {**worker_env, **FAST_RELAY, "WEBHOOK_LEASE_S": "2"}
    receiver.secret = register(app, receiver.url)["secret"]
    receiver.hang(60)  # holds every POST: the relay is mid-delivery until it dies
    user = new_user()
    # One pool process: nothing else of this worker claims while its POSTs hang.
    doomed = start_celery_worker(env, name="webhooks-doomed", concurrency=1)
    beat = start_celery_beat(env, tmp_path / "beat", name="webhooks-beat")
    try:
        tx_id = buy_and_pay(api_server, stub, user)
        held = receiver.wait_for_count(lambda r: r.hung, count=2, timeout=40)
        held_ids = {r.webhook_id for r in held}
        events = outbox(app)
        assert held_ids == {e["id"] for e in events} and len(events) == 2
        doomed.kill9()
        # Killed between the POST and its record: nothing says delivered.
        assert deliveries_by_state(app) == {"pending": 2}
        assert rows(app, "SELECT count(*) AS n FROM webhook_attempts")[0]["n"] == 0
        receiver.answer(200)  # lets the held requests go (their sender is gone)
        restarted_at = time.time()
        replacement = start_celery_worker(env, name="webhooks-replacement")
        try:
            receiver.wait_for_delivered(held_ids, timeout=40)
            wait_until(
                lambda: deliveries_by_state(app) == {"delivered": 2},
                timeout=20,
                message="both deliveries recorded as delivered",
            )
        finally:
            replacement.stop()
    finally:
        doomed.kill9()
        beat.stop()

    log = receiver.received()
    assert all(r.verified for r in log)
    for event_id in held_ids:
        tries = [r for r in log if r.webhook_id == event_id]
        after = [r for r in tries if r.delivered]
        # Sent again after the restart, same id and bytes as the POST the kill cut off.
        assert after and all(r.arrived_at >= restarted_at for r in after)
        assert len({r.body for r in tries}) == 1
    # At least once: duplicates are tolerated by webhook-id; nothing was lost.
    assert {r.webhook_id for r in log if r.delivered} == {e["id"] for e in outbox(app)}
    assert statuses(app, [tx_id]) == {tx_id: "completed"}


# -- 4. broker stopped while purchases settle --------------------------------------------


@pytest.fixture
def broker(tmp_path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "broker", appendonly=True, name="webhooks-broker").start()
    yield server
    server.stop()


def cli_settle(env: dict[str, str], tx_id: str) -> subprocess.CompletedProcess[str]:
    """``billing settle TX``: asks Kaspi and settles, as the worker would, without it."""
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "billing", "settle", tx_id],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def test_broker_stopped_while_purchases_settle_outbox_grows_then_drains(
    clean_db, webhook_tables, app, app_config, api_server, stub, receiver, broker, tmp_path: Path
):
    # The worker, beat and the settling command use the test's own broker; the
    # database and the wake-up flag's Redis stay up.
    env = {
        **service_env(app_config, KASPI_BASE_URL=stub, CELERY_BROKER_URL=broker.url),
        **FAST_RELAY,
    }
    receiver.secret = register(app, receiver.url)["secret"]
    user = new_user()
    worker = Supervised("webhooks-worker", worker_argv("webhooks-worker"), env).start()
    beat = Supervised(
        "webhooks-beat",
        [bin_path("celery"), "-A", "workers", "beat", "--schedule", str(tmp_path / "beat")],
        env,
    ).start()
    try:
        tx_ids = [buy(api_server, user) for _ in range(2)]
        assert outbox(app) == []
        broker.stop()
        for _, payment_id in tx_ids:
            confirm_payment(stub, payment_id)
        with ThreadPoolExecutor(2) as pool:
            settled = list(pool.map(lambda tx: cli_settle(env, tx[0]), tx_ids))
        assert [s.returncode for s in settled] == [0, 0], [s.stderr[-2000:] for s in settled]
        assert all(s.stdout.split()[1] == "completed" for s in settled), [s.stdout for s in settled]
        # The broker was really gone for them: the wake-up of the relay was lost (the
        # first COMMIT sends it; the others within WEBHOOK_WAKE_TTL_S rely on that one).
        assert any("webhook relay not woken" in s.stderr for s in settled)
        # Committed with the settlements: the events, and a pending delivery of each.
        events = outbox(app)
        assert len(events) == 4, events
        user_key = f"user:{user}"
        assert sorted(e["sequence"] for e in events if e["ordering_key"] == user_key) == [1, 2]
        assert deliveries_by_state(app) == {"pending": 4}
        assert receiver.received() == []  # no broker, no relay: nothing was sent

        broker.start()
        receiver.wait_for_delivered({e["id"] for e in events}, timeout=60)
        wait_until(
            lambda: deliveries_by_state(app) == {"delivered": 4},
            timeout=20,
            message="the outbox drained",
        )
    finally:
        beat.stop()
        worker.stop()
    log = receiver.received()
    assert all(r.verified for r in log)
    assert_in_order_per_key(log)
    granted = [r.sequence for r in log if r.delivered and r.type == "credit.granted"]
    assert granted == [1, 2]
