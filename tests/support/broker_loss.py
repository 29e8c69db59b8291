"""The broker-loss scenario, shared by the Redis and the RabbitMQ broker tests.

A real stack (gunicorn API, Celery worker and beat under a restart loop, the
Kaspi stub) sells ``intents`` purchases in ``kills`` batches. Each batch is
created and paid partly while the broker is up and partly while it is down;
the broker is killed with SIGKILL while the batch settles, stays down for
``down_s`` seconds, and comes back. At the end every payment must have settled
exactly once, within 60 s of the last restart.

Measured per outage: how long after the broker came back the first payment
settled (``first_settle_s``), and at the end how long the whole backlog took
(``drain_s``), plus every restart the supervisor had to make.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests
from sqlalchemy import func, select

from app.billing.core.models import Credit, Transaction, TransactionEvent
from app.extensions import db
from tests.conftest import auth
from tests.support.processes import LOG_DIR, ROOT, Process, bin_path, free_port, wait_until
from tests.support.stub_server import confirm_payment
from tests.support.supervisor import Supervised

SETTLE_DEADLINE_S = 60.0


def scenario_numbers() -> tuple[int, float, int]:
    """(kills, seconds down, intents): the issue's scenario unless the env shortens it."""
    return (
        int(os.environ.get("BROKER_LOSS_KILLS", "5")),
        float(os.environ.get("BROKER_LOSS_DOWN_S", "20")),
        int(os.environ.get("BROKER_LOSS_INTENTS", "200")),
    )


@dataclass
class Stack:
    api_url: str
    api: Process
    worker: Supervised
    beat: Supervised
    heartbeat_file: Path
    worker_metrics_port: int

    def stop(self) -> None:
        for proc in (self.beat, self.worker, self.api):
            proc.stop()


def start_stack(env: dict[str, str], tmp_path: Path, label: str) -> Stack:
    """API (gunicorn with the production config file), worker and beat, supervised."""
    run = f"{label}-{uuid.uuid4().hex[:6]}"
    api_metrics = tmp_path / "metrics-api"
    worker_metrics = tmp_path / "metrics-worker"
    api_metrics.mkdir()
    worker_metrics.mkdir()
    heartbeat_file = tmp_path / "worker.heartbeat"
    worker_port = free_port()
    worker_env = {
        **env,
        "PROMETHEUS_MULTIPROC_DIR": str(worker_metrics),
        "WORKER_METRICS_PORT": str(worker_port),
        "WORKER_HEARTBEAT_FILE": str(heartbeat_file),
        "WORKER_HEARTBEAT_INTERVAL_S": "1",
    }
    api_port = free_port()
    api = Process(
        f"{run}-api",
        [
            bin_path("gunicorn"),
            "-c",
            str(ROOT / "deploy" / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{api_port}",
            "--workers",
            "2",
            "--graceful-timeout",
            "5",
            "wsgi:app",
        ],
        {**env, "PROMETHEUS_MULTIPROC_DIR": str(api_metrics)},
    ).start()
    worker = Supervised(
        f"{run}-worker",
        [
            bin_path("celery"),
            "-A",
            "workers",
            "--quiet",  # no banner: every line on stderr is a JSON log record
            "worker",
            "--concurrency",
            "2",
            "--pool",
            "prefork",
            "--hostname",
            f"{run}@%h",
            "--without-mingle",
            "--without-gossip",
        ],
        worker_env,
    ).start()
    beat = Supervised(
        f"{run}-beat",
        [
            bin_path("celery"),
            "-A",
            "workers",
            "--quiet",
            "beat",
            "--schedule",
            str(tmp_path / "beat-schedule"),
        ],
        env,
    ).start()
    api_url = f"http://127.0.0.1:{api_port}"
    stack = Stack(api_url, api, worker, beat, heartbeat_file, worker_port)
    try:
        wait_until(
            lambda: _get(api_url + "/healthz") == 200, timeout=60, message="the API to answer"
        )
    except TimeoutError:
        stack.stop()
        raise RuntimeError(f"API did not start:\n{api.tail()}") from None
    return stack


def _get(url: str) -> int | None:
    try:
        return requests.get(url, timeout=2).status_code
    except requests.RequestException:
        return None


def buy(api_url: str, user: str) -> dict:
    response = requests.post(
        f"{api_url}/api/billing/purchase-intent",
        json={"product_code": "EVENT_UPGRADE_500", "quantity": 1},
        headers=auth(user),
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()


def buy_and_pay(api_url: str, stub_url: str, count: int, users: list[str]) -> list[str]:
    def one(i: int) -> str:
        body = buy(api_url, users[i % len(users)])
        confirm_payment(stub_url, body["payment"]["payment_id"])
        return body["transaction_id"]

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, range(count)))


def settled_after(app, moment: datetime) -> int:
    with app.app_context():
        try:
            return db.session.scalar(
                select(func.count()).select_from(Transaction).where(Transaction.settled_at > moment)
            )
        finally:
            db.session.remove()


def completed_count(app, ids: list[str]) -> int:
    with app.app_context():
        try:
            return db.session.scalar(
                select(func.count())
                .select_from(Transaction)
                .where(Transaction.id.in_([uuid.UUID(i) for i in ids]))
                .where(Transaction.status == "completed")
            )
        finally:
            db.session.remove()


@dataclass
class Outcome:
    outages: list[dict] = field(default_factory=list)
    drain_s: float = 0.0
    worker_restarts: list[dict] = field(default_factory=list)
    beat_restarts: list[dict] = field(default_factory=list)
    readyz_while_down: list[dict] = field(default_factory=list)


def run_scenario(
    *,
    app,
    stack: Stack,
    stub_url: str,
    kill: Callable[[], None],
    restart: Callable[[], None],
    kills: int,
    down_s: float,
    intents: int,
    label: str,
) -> tuple[Outcome, list[str]]:
    users = [f"{label}-buyer-{i}" for i in range(8)]
    outcome = Outcome()
    ids: list[str] = []
    per_batch = [intents // kills + (1 if i < intents % kills else 0) for i in range(kills)]
    last_up = time.time()
    for batch in per_batch:
        up_half = batch // 2
        # Paid while the broker is up: settling is under way when it dies.
        ids += buy_and_pay(stack.api_url, stub_url, up_half, users)
        time.sleep(0.2)  # the last payments are still being checked: the kill lands mid-way
        paid_at_kill = len(ids)
        settled_before_kill = completed_count(app, ids)
        killed_at = time.time()
        kill()
        # The API keeps selling without the broker; the buyers keep paying.
        ids += buy_and_pay(stack.api_url, stub_url, batch - up_half, users)
        ready = requests.get(stack.api_url + "/readyz", timeout=10)
        outcome.readyz_while_down.append(
            {"status": ready.status_code, "failed": ready.json().get("error", {}).get("failed")}
        )
        remaining = down_s - (time.time() - killed_at)
        if remaining > 0:
            time.sleep(remaining)  # the outage itself: nothing to wait for
        # Taken before the restart: the worker may reconnect and settle everything that
        # waited before restart() has seen the node answer, and nothing settles while
        # the broker is down (tasks running at the kill ended seconds ago).
        restarting_at = datetime.now(UTC)
        restart()
        last_up = time.time()
        first = wait_until(
            lambda moment=restarting_at: settled_after(app, moment) > 0 and time.time(),
            timeout=SETTLE_DEADLINE_S,
            interval=0.1,
            message="a settlement after the broker came back",
        )
        outcome.outages.append(
            {
                "down_s": round(last_up - killed_at, 1),
                "first_settle_s": round(first - last_up, 2),
                "paid_at_kill": paid_at_kill,
                "settled_at_kill": settled_before_kill,
                "paid_by_restart": len(ids),
            }
        )
    done_at = wait_until(
        lambda: completed_count(app, ids) == len(ids) and time.time(),
        timeout=SETTLE_DEADLINE_S,
        interval=0.2,
        message=f"all {len(ids)} payments settled within {SETTLE_DEADLINE_S}s of the last restart",
    )
    outcome.drain_s = round(done_at - last_up, 2)
    outcome.worker_restarts = list(stack.worker.restarts)
    outcome.beat_restarts = list(stack.beat.restarts)
    return outcome, ids


def survive_kills(
    *,
    app,
    env: dict[str, str],
    tmp_path: Path,
    stub_url: str,
    kill: Callable[[], None],
    restart: Callable[[], None],
    label: str,
) -> Outcome:
    """The whole scenario on one broker: start the stack, kill and restart the broker,
    and check every payment settled exactly once, in time, with the API never down.

    Answers the outcome for the broker-specific checks (what readiness named).
    """
    kills, down_s, intents = scenario_numbers()
    stack = start_stack(env, tmp_path, f"{label}-loss")
    try:
        outcome, ids = run_scenario(
            app=app,
            stack=stack,
            stub_url=stub_url,
            kill=kill,
            restart=restart,
            kills=kills,
            down_s=down_s,
            intents=intents,
            label=label,
        )
        print(f"\nbroker loss ({label}):", report(label, outcome, kills, down_s, intents))
        assert_settled_exactly_once(app, ids)
        assert len(ids) == intents
        assert outcome.drain_s <= SETTLE_DEADLINE_S
        assert stack.api.alive(), "the API process must never need a restart"
    finally:
        stack.stop()
    return outcome


def assert_settled_exactly_once(app, ids: list[str]) -> None:
    tx_ids = [uuid.UUID(i) for i in ids]
    with app.app_context():
        try:
            statuses = dict(
                db.session.execute(
                    select(Transaction.status, func.count())
                    .where(Transaction.id.in_(tx_ids))
                    .group_by(Transaction.status)
                ).all()
            )
            credits = db.session.scalar(
                select(func.count())
                .select_from(Credit)
                .where(Credit.source_transaction_id.in_(tx_ids))
            )
            events = db.session.execute(
                select(
                    TransactionEvent.transaction_id,
                    TransactionEvent.from_status,
                    TransactionEvent.to_status,
                ).where(TransactionEvent.transaction_id.in_(tx_ids))
            ).all()
        finally:
            db.session.remove()
    assert statuses == {"completed": len(ids)}, statuses
    assert credits == len(ids)
    trail: dict[uuid.UUID, list[tuple]] = {}
    for tx_id, from_status, to_status in events:
        trail.setdefault(tx_id, []).append((from_status, to_status))
    odd = {
        str(k): v
        for k, v in trail.items()
        if sorted(v, key=str) != sorted([(None, "pending"), ("pending", "completed")], key=str)
    }
    assert len(trail) == len(ids) and not odd, odd


def report(label: str, outcome: Outcome, kills: int, down_s: float, intents: int) -> str:
    data = {
        "broker": label,
        "kills": kills,
        "down_s": down_s,
        "intents": intents,
        "outages": outcome.outages,
        "drain_after_last_restart_s": outcome.drain_s,
        "worker_restarts": len(outcome.worker_restarts),
        "beat_restarts": len(outcome.beat_restarts),
        "readyz_while_down": outcome.readyz_while_down,
    }
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    (LOG_DIR / f"broker-loss-{label}.json").write_text(json.dumps(data, indent=2))
    return json.dumps(data)


def status_of(app, transaction_id: str) -> str | None:
    with app.app_context():
        try:
            tx = db.session.get(Transaction, uuid.UUID(transaction_id))
            return tx.status if tx else None
        finally:
            db.session.remove()


def get_json(url: str) -> dict:
    return requests.get(url, timeout=10).json()
