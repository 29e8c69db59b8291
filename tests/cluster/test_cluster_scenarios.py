"""The cluster tier: two hosts (API, stream process, worker; beat on host A) on loopback
addresses of their own, behind HAProxy, with PgBouncer in transaction mode in front of
PostgreSQL, the task queue on a RabbitMQ node of the tier's own (a quorum queue, native
delayed delivery, publisher confirms) and Redis for locks, the hub and results.

- paid purchases while one whole host is killed with SIGKILL and brought back: every
  payment is settled exactly once, no credit is granted twice, and every stream client,
  reconnecting through the balancer, sees its purchase completed; the tasks the killed
  worker had taken come back from the quorum queue;
- the publish race across both hosts;
- PgBouncer restarted mid-load: reads whose connection was cut answer, writes answer 503
  with Retry-After and leave nothing: no pending row, no Kaspi payment that can be paid."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import requests
from sqlalchemy import create_engine, text

import celeryconfig
from app.celery_app import beat_schedule
from tests.conftest import KASPI_KEY, auth, token_for
from tests.integration.conftest import service_env
from tests.integration.test_publish_concurrency import (
    ledger,
    no_server_errors,
    personal_setup,
    publish_calls,
    race,
)
from tests.support import pgbouncer_server
from tests.support.cluster import Balancer, Host, haproxy_available
from tests.support.pgbouncer_server import PgBouncer
from tests.support.processes import LOG_DIR, wait_until
from tests.support.rabbitmq_server import RabbitServer, rabbitmq_binary
from tests.support.sse import SseClient
from tests.support.stub_server import confirm_payment, reset_faults, set_faults

pytestmark = [
    pytest.mark.integration,
    pytest.mark.cluster,
    pytest.mark.skipif(not pgbouncer_server.available(), reason="apt-get install pgbouncer"),
    pytest.mark.skipif(not haproxy_available(), reason="apt-get install haproxy"),
    pytest.mark.skipif(rabbitmq_binary() is None, reason="apt-get install rabbitmq-server"),
]

PURCHASES = int(os.environ.get("CLUSTER_PURCHASES", "500"))
WATCHED = int(os.environ.get("CLUSTER_WATCHED", "40"))
QUEUE = "billing-cluster"
# Beat's schedule needs the intervals only (their values do not matter here).
SWEEP_CONFIG = dict.fromkeys(
    (
        "SWEEP_INTERVAL_S",
        "LATE_SWEEP_INTERVAL_S",
        "LIFECYCLE_INTERVAL_S",
        "WEBHOOK_RELAY_INTERVAL_S",
        "FISCAL_SWEEP_INTERVAL_S",
        "FISCAL_SHIFT_CLOSE_S",
    ),
    1,
)


@dataclass
class Cluster:
    balancer: Balancer
    hosts: list[Host]
    bouncer: PgBouncer
    rabbit: RabbitServer


@pytest.fixture(scope="module")
def cluster(app, app_config, kaspi_stub, tmp_path_factory) -> Iterator[Cluster]:
    tmp_path = tmp_path_factory.mktemp("cluster")
    rabbit = RabbitServer(tmp_path / "rabbit").start()
    bouncer = PgBouncer(
        tmp_path / "pgbouncer", app_config["SQLALCHEMY_DATABASE_URI"], server_pool_size=20
    ).start()
    env = service_env(
        app_config,
        KASPI_BASE_URL=kaspi_stub,
        DATABASE_URL=bouncer.url(),
        DATABASE_PGBOUNCER_TRANSACTION_MODE="1",
        DATABASE_POOL_SIZE="3",
        DATABASE_MAX_OVERFLOW="2",
        # Tasks on RabbitMQ; Redis (REDIS_URL) keeps locks, the hub and results.
        CELERY_BROKER_URL=rabbit.url,
        CELERY_QUEUE=QUEUE,
        CELERY_QUEUE_TYPE="quorum",
    )
    hosts = [
        Host("host-a", "127.0.0.2", env, beat_schedule=tmp_path / "beat-a"),
        Host("host-b", "127.0.0.3", env),
    ]
    balancer = None
    try:
        for host in hosts:
            host.start()
        balancer = Balancer(tmp_path / "haproxy", hosts).start()
        yield Cluster(balancer, hosts, bouncer, rabbit)
    finally:
        if balancer is not None:
            balancer.stop()
        for host in hosts:
            host.stop()
        bouncer.stop()
        rabbit.stop()


def queues(rabbit: RabbitServer) -> dict[str, list[str]]:
    """Each queue's type, arguments and policy, as the node reports them."""
    return {row[0]: row[1:] for row in rabbit.list_queues("name", "type", "arguments", "policy")}


def publishes_served(host: Host) -> int:
    """Publish requests the host's API has logged (its log file is appended to)."""
    log = LOG_DIR / f"{host.name}-api.log"
    text_ = log.read_text(errors="replace") if log.exists() else ""
    return sum(
        '"http_method": "POST"' in line and "/publish" in line for line in text_.splitlines()
    )


@dataclass
class Watcher:
    """A buyer's page following one purchase through the balancer, reconnecting when its
    stream ends before a final status (its host died)."""

    url: str
    user: str
    final: str | None = None
    connections: int = 0

    def follow(self, deadline: float) -> None:
        while time.monotonic() < deadline and self.final is None:
            self.connections += 1
            try:
                stream = SseClient(self.url, token_for(self.user))
            except requests.RequestException:
                time.sleep(0.2)  # the balancer has not noticed the dead host yet
                continue
            if stream.status_code != 200:
                stream.close()
                time.sleep(0.2)
                continue
            while True:
                event = stream.next_status(timeout=max(0.1, deadline - time.monotonic()))
                if event is None:
                    break
                status = event.json()["status"]
                if status in ("completed", "failed", "expired", "canceled"):
                    self.final = status
                    break
            stream.close()


def test_a_host_killed_mid_load_settles_every_payment_once(
    app, app_config, clean_db, cluster, kaspi_stub
):
    balancer, (host_a, _host_b) = cluster.balancer, cluster.hosts
    reset_faults(kaspi_stub)
    # What brings back a task the killed worker had taken: it is acknowledged only once
    # it has run (a worker that dies first never acknowledges it; a pool process killed
    # under it rejects it back), each worker process takes one at a time, and RabbitMQ
    # returns a dead consumer's unacknowledged messages to the queue at once. A quorum
    # queue drops a message redelivered more often than its delivery limit: there is
    # none (no x-delivery-limit, no policy; RabbitMQ 3.x sets no default).
    assert celeryconfig.task_acks_late and celeryconfig.task_reject_on_worker_lost
    assert celeryconfig.worker_prefetch_multiplier == 1
    wait_until(lambda: QUEUE in queues(cluster.rabbit), timeout=30, message="the task queue")
    queue_type, arguments, policy = queues(cluster.rabbit)[QUEUE]
    assert queue_type == "quorum", queues(cluster.rabbit)
    assert "x-delivery-limit" not in arguments and policy in ("", "none"), (arguments, policy)

    def intent(n: int) -> dict:
        answer = requests.post(
            f"{balancer.url}/api/billing/purchase-intent",
            json={"product_code": "EVENT_UPGRADE_500"},
            headers=auth(f"cluster-{n}"),
            timeout=30,
        )
        assert answer.status_code == 201, answer.text[:300]
        return {"user": f"cluster-{n}", **answer.json()}

    with ThreadPoolExecutor(8) as pool:
        intents = list(pool.map(intent, range(PURCHASES)))

    deadline = time.monotonic() + 240
    watchers = [
        Watcher(f"{balancer.url}/api/billing/transactions/{i['transaction_id']}/events", i["user"])
        for i in intents[:WATCHED]
    ]
    threads = [threading.Thread(target=w.follow, args=(deadline,), daemon=True) for w in watchers]
    for thread in threads:
        thread.start()

    paid = 0
    paid_lock = threading.Lock()

    def pay(i: dict) -> None:
        nonlocal paid
        confirm_payment(kaspi_stub, i["payment"]["payment_id"])
        with paid_lock:
            paid += 1

    killed = threading.Event()
    kill: dict[str, object] = {}

    def kill_then_restart() -> None:
        wait_until(lambda: paid >= PURCHASES // 3, timeout=120, message="a third paid")
        victims = [p.proc for p in host_a.processes]
        worker = next(p for p in host_a.processes if p.name.endswith("-worker"))
        # Kaspi answers slowly for a moment, so that host A's worker is killed while it
        # holds a task (a batch check waiting on Kaspi), as its log shows.
        set_faults(kaspi_stub, latency_ms=400)
        wait_until(
            lambda: taken_and_received_again([host_a.name], worker.pid, datetime.now(UTC))[0],
            timeout=20,
            interval=0.02,
            message="host A's worker holding a task",
        )
        kill.update(worker_pid=worker.pid, at=datetime.now(UTC))
        host_a.kill9()
        reset_faults(kaspi_stub)
        assert all(v is not None and v.returncode == -9 for v in victims)
        killed.set()
        time.sleep(3)  # the host stays down while the rest is paid and settled by host B
        host_a.start()

    chaos = threading.Thread(target=kill_then_restart, daemon=True)
    chaos.start()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(pay, intents))
    chaos.join(timeout=120)
    assert killed.is_set()
    # Every process of the host died of SIGKILL (and was started again).
    assert all(p.alive() for p in host_a.processes)

    engine = create_engine(app_config["SQLALCHEMY_DATABASE_URI"])
    try:
        ids = [i["transaction_id"] for i in intents]

        def completed() -> int:
            with engine.connect() as conn:
                return conn.execute(
                    text(
                        "SELECT count(*) FROM transactions"
                        " WHERE status = 'completed' AND id = ANY(:ids)"
                    ),
                    {"ids": ids},
                ).scalar()

        wait_until(
            lambda: completed() == PURCHASES, timeout=240, message="every purchase completed"
        )
        with engine.connect() as conn:
            settled_twice = conn.execute(
                text(
                    "SELECT transaction_id FROM transaction_events WHERE to_status = 'completed'"
                    " AND transaction_id = ANY(:ids) GROUP BY transaction_id HAVING count(*) <> 1"
                ),
                {"ids": ids},
            ).all()
            credits = dict(
                conn.execute(
                    text(
                        "SELECT t.id::text, count(c.id) FROM transactions t"
                        " LEFT JOIN billing_credits c ON c.source_transaction_id = t.id"
                        " WHERE t.id = ANY(:ids) GROUP BY t.id"
                    ),
                    {"ids": ids},
                ).all()
            )
            quantities = dict(
                conn.execute(
                    text("SELECT id::text, quantity FROM transactions WHERE id = ANY(:ids)"),
                    {"ids": ids},
                ).all()
            )
    finally:
        engine.dispose()
    assert settled_twice == []
    assert credits == quantities
    for thread in threads:
        thread.join(timeout=max(1, deadline - time.monotonic()))
    assert [w.final for w in watchers] == ["completed"] * len(watchers)
    # Some streams were on the killed host and came back through the balancer.
    assert sum(w.connections > 1 for w in watchers) >= 1, [w.connections for w in watchers]
    # Every task the killed worker had taken and not finished came back from the queue
    # and was received again (by host B, or host A once restarted).
    taken, again = taken_and_received_again(
        [h.name for h in cluster.hosts], int(kill["worker_pid"]), kill["at"]
    )
    print(
        f"\n[host killed] tasks the killed worker held: {len(taken)}, received again: "
        f"{len(taken & again)}"
    )
    assert taken and taken <= again, (taken, again)


def worker_lines(host_names: list[str]) -> list[dict]:
    lines = []
    for name in host_names:
        log = LOG_DIR / f"{name}-worker.log"
        for line in log.read_text(errors="replace").splitlines() if log.exists() else []:
            if line.startswith("{"):
                try:
                    lines.append(json.loads(line))
                except ValueError:
                    continue
    return lines


# A task's id in Celery's lines ("Task name[id] received", "Discarding revoked task: name[id]").
TASK_ID = re.compile(r"\[([0-9a-f-]{36})\]")


def taken_and_received_again(
    host_names: list[str], killed_pid: int, killed_at: datetime
) -> tuple[set[str], set[str]]:
    """From the workers' JSON logs: the tasks the killed worker received and had not
    finished when it died, and the tasks some other worker process received after.

    Beat's sweeps are left out: they are sent with an expiry (the next sweep supersedes
    one), so a sweep delivered again after it expired is dropped, as it should be."""
    sweeps = {entry["task"] for entry in beat_schedule(SWEEP_CONFIG).values()}
    received_by_killed: set[str] = set()
    finished: set[str] = set()
    received_after: set[str] = set()
    for line in worker_lines(host_names):
        found = TASK_ID.search(str(line.get("message", "")))
        if found is None or any(f"{sweep}[" in line["message"] for sweep in sweeps):
            continue
        task_id = found.group(1)
        at = datetime.fromisoformat(line["timestamp"])
        received = line.get("logger") == "celery.worker.strategy"
        if received and line.get("process") == killed_pid:
            received_by_killed.add(task_id)
        elif received and at > killed_at:
            received_after.add(task_id)
        elif not received and at <= killed_at:
            finished.add(task_id)  # succeeded, raised, retried or discarded before the kill
    return received_by_killed - finished, received_after


def test_the_publish_race_across_both_hosts_spends_each_credit_once(app, clean_db, cluster):
    """40 publishes at once through the balancer (round robin: half on each host) of 10
    events that need a credit, with 3 credits: exactly 3 are published, each by its own
    credit; the rest are refused (402/409), none answers 5xx."""
    balancer, hosts = cluster.balancer, cluster.hosts
    user_id, events = personal_setup(app, events=10, credits=3)
    # After the kill test, HAProxy takes host A back once two checks pass.
    wait_until(
        lambda: all(balancer.server_up(h.name) for h in hosts),
        timeout=30,
        message="both hosts up in the balancer",
    )
    before = {h.name: publishes_served(h) for h in hosts}
    answers = race(balancer.url, publish_calls(user_id, events, 40))
    no_server_errors(answers)
    # Both hosts took part in the race.
    assert all(publishes_served(h) > before[h.name] for h in hosts)
    book = ledger(app, user_id)
    assert len(book.published) == 3, book
    assert all(book.published.values())
    assert sorted(book.consumed) == sorted(book.published)
    assert book.available == 0
    assert {a.status for a in answers} <= {200, 402, 409}, Counter(a.status for a in answers)


def lost_connection_retries(hosts: list[Host]) -> int:
    total = 0
    for host in hosts:
        log = LOG_DIR / f"{host.name}-api.log"
        if log.exists():
            total += log.read_text(errors="replace").count("read lost its database connection")
    return total


@dataclass
class Outcome:
    kind: str  # read or write
    status: int
    retry_after: str | None
    user: str
    after_restart: bool


def test_pgbouncer_restarted_mid_load(app, app_config, clean_db, cluster, kaspi_stub):
    balancer, hosts = cluster.balancer, cluster.hosts
    pending = []
    for n in range(8):
        answer = requests.post(
            f"{balancer.url}/api/billing/purchase-intent",
            json={"product_code": "EVENT_UPGRADE_500"},
            headers=auth(f"poll-{n}"),
            timeout=30,
        )
        assert answer.status_code == 201, answer.text
        pending.append((f"poll-{n}", answer.json()["transaction_id"]))
    retries_before = lost_connection_retries(hosts)
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    stop = threading.Event()
    restarted = threading.Event()

    def record(kind: str, response: requests.Response, user: str, after: bool) -> None:
        with lock:
            outcomes.append(
                Outcome(
                    kind, response.status_code, response.headers.get("Retry-After"), user, after
                )
            )

    def reader(n: int) -> None:
        i = 0
        while not stop.is_set():
            user, tx = pending[(n + i) % len(pending)]
            after = restarted.is_set()
            response = requests.get(
                f"{balancer.url}/api/billing/transactions/{tx}", headers=auth(user), timeout=30
            )
            record("read", response, user, after)
            i += 1

    def writer(n: int) -> None:
        i = 0
        while not stop.is_set():
            user = f"write-{n}-{i}"
            after = restarted.is_set()
            response = requests.post(
                f"{balancer.url}/api/billing/purchase-intent",
                json={"product_code": "EVENT_UPGRADE_500"},
                headers=auth(user),
                timeout=30,
            )
            record("write", response, user, after)
            i += 1

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(4)]
    threads += [threading.Thread(target=writer, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: len(outcomes) >= 60, timeout=60, message="load before the restart")
        cluster.bouncer.restart()
        restarted.set()
        wait_until(
            lambda: sum(o.after_restart for o in outcomes) >= 150,
            timeout=120,
            message="load after the restart",
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    statuses = Counter((o.kind, o.status) for o in outcomes)
    print(f"\n[pgbouncer restart] {dict(statuses)}")
    assert {o.status for o in outcomes if o.kind == "read"} <= {200, 503}, statuses
    assert {o.status for o in outcomes if o.kind == "write"} <= {201, 503}, statuses
    assert all(o.retry_after and int(o.retry_after) >= 1 for o in outcomes if o.status == 503)
    # Reads sent once PgBouncer listened again all answered, their cut connections
    # replaced on the one retry (logged by the API)...
    assert all(o.status == 200 for o in outcomes if o.kind == "read" and o.after_restart)
    assert lost_connection_retries(hosts) > retries_before
    # ...and a write refused with 503 left nothing behind. Its pending row may have
    # been committed (the intent's first step commits it before Kaspi is asked, and a
    # statement PostgreSQL committed just before PgBouncer cut the connection is
    # committed though the client saw the cut): the request, or the task it sent when
    # the database was still away, voids Kaspi's payment and closes the row. No
    # pending row is left to refuse the buyer's retry, no link can still take money.
    refused = [o.user for o in outcomes if o.kind == "write" and o.status == 503]
    assert refused, statuses  # the restart did refuse writes: there was something to prove
    engine = create_engine(app_config["SQLALCHEMY_DATABASE_URI"])
    try:

        def left_rows() -> list:
            with engine.connect() as conn:
                return conn.execute(
                    text(
                        "SELECT id::text, status, amount FROM transactions"
                        " WHERE user_id = ANY(:users)"
                    ),
                    {"users": refused},
                ).all()

        wait_until(
            lambda: all(row.status != "pending" for row in left_rows()),
            timeout=60,
            message="no pending row left by a refused write",
        )
        rows = left_rows()
        with engine.connect() as conn:
            credits = conn.execute(
                text("SELECT count(*) FROM billing_credits WHERE user_id = ANY(:users)"),
                {"users": refused},
            ).scalar()
    finally:
        engine.dispose()
    at_kaspi = {row.id: kaspi_status_of(kaspi_stub, row.id, row.amount) for row in rows}
    print(
        f"[pgbouncer restart] refused writes: {len(refused)}, rows they left: "
        f"{Counter(row.status for row in rows)}, their Kaspi payments: {Counter(at_kaspi.values())}"
    )
    assert {row.status for row in rows} <= {"failed"} and credits == 0, (rows, credits)
    assert set(at_kaspi.values()) <= {None, "Canceled"}, at_kaspi


def kaspi_status_of(kaspi_stub: str, transaction_id: str, amount) -> str | None:
    """The status of the payment Kaspi made for a transaction (its ExternalId), or None
    if the service never asked Kaspi for one."""
    calls = requests.get(
        f"{kaspi_stub}/test/create-calls", params={"external_id": transaction_id}, timeout=10
    ).json()["Data"]["Calls"]
    if calls == 0:
        return None
    headers = {"Api-Key": KASPI_KEY, "Content-Type": "application/json"}
    # Creating is idempotent on ExternalId: this answers the payment made before.
    made = requests.post(
        f"{kaspi_stub}/r3/v01/qr/create-link",
        data=f'{{"ExternalId": "{transaction_id}", "Amount": {amount}}}',
        headers=headers,
        timeout=10,
    ).json()["Data"]
    status = requests.get(
        f"{kaspi_stub}/r3/v01/payment/status/{made['PaymentId']}", headers=headers, timeout=10
    ).json()["Data"]["Status"]
    return str(status)
