"""RabbitMQ with a quorum task queue (native delayed delivery, publisher confirms) on a
node of the test's own, behind PgBouncer: two workers settle paid purchases while one
is killed with SIGKILL and started again; each is settled exactly once."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text

from app import broker
from tests.conftest import auth
from tests.integration.conftest import service_env
from tests.support import pgbouncer_server
from tests.support.pgbouncer_server import PgBouncer
from tests.support.processes import (
    start_celery_beat,
    start_celery_worker,
    start_gunicorn,
    wait_until,
)
from tests.support.rabbitmq_server import RabbitServer, rabbitmq_binary
from tests.support.stub_server import confirm_payment, reset_faults

pytestmark = [
    pytest.mark.integration,
    pytest.mark.cluster,
    pytest.mark.skipif(not pgbouncer_server.available(), reason="apt-get install pgbouncer"),
    pytest.mark.skipif(rabbitmq_binary() is None, reason="apt-get install rabbitmq-server"),
]

PURCHASES = int(os.environ.get("CLUSTER_QUORUM_PURCHASES", "150"))
QUEUE = "billing-quorum"


@pytest.fixture(scope="module")
def rabbit(tmp_path_factory) -> Iterator[RabbitServer]:
    server = RabbitServer(tmp_path_factory.mktemp("rabbit")).start()
    try:
        yield server
    finally:
        server.stop()


def queue_types(rabbit: RabbitServer) -> dict[str, str]:
    ctl = Path(rabbitmq_binary() or "").with_name("rabbitmqctl")
    done = subprocess.run(
        [str(ctl), "-n", rabbit.node, "-q", "list_queues", "name", "type"],
        env=rabbit.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    rows = [line.split() for line in done.stdout.splitlines() if line.strip()]
    return {row[0]: row[1] for row in rows if len(row) == 2 and row[0] != "name"}


def test_quorum_queue_settles_every_payment_once_with_a_worker_killed(
    app, app_config, clean_db, kaspi_stub, rabbit, tmp_path
):
    reset_faults(kaspi_stub)
    bouncer = PgBouncer(
        tmp_path / "pgbouncer", app_config["SQLALCHEMY_DATABASE_URI"], server_pool_size=12
    ).start()
    env = service_env(
        app_config,
        KASPI_BASE_URL=kaspi_stub,
        DATABASE_URL=bouncer.url(),
        DATABASE_PGBOUNCER_TRANSACTION_MODE="1",
        CELERY_BROKER_URL=rabbit.url,
        CELERY_QUEUE=QUEUE,
        CELERY_QUEUE_TYPE="quorum",
    )
    assert broker.transport_options(rabbit.url)["confirm_publish"] is True
    processes = []
    try:
        api_proc, api = start_gunicorn("quorum-api", "wsgi:app", env, workers=2)
        processes.append(api_proc)
        first = start_celery_worker(env, name="quorum-w1")
        processes += [first, start_celery_worker(env, name="quorum-w2")]
        processes.append(start_celery_beat(env, tmp_path / "beat", name="quorum-beat"))
        wait_until(
            lambda: queue_types(rabbit).get(QUEUE) == "quorum",
            timeout=90,
            message="the quorum queue",
        )

        def intent(n: int) -> dict:
            answer = requests.post(
                f"{api}/api/billing/purchase-intent",
                json={"product_code": "EVENT_UPGRADE_500"},
                headers=auth(f"quorum-{n}"),
                timeout=30,
            )
            assert answer.status_code == 201, answer.text[:300]
            return answer.json()

        with ThreadPoolExecutor(8) as pool:
            intents = list(pool.map(intent, range(PURCHASES)))
        paid = 0
        lock = threading.Lock()

        def pay(i: dict) -> None:
            nonlocal paid
            confirm_payment(kaspi_stub, i["payment"]["payment_id"])
            with lock:
                paid += 1
                if paid == PURCHASES // 3:
                    first.kill9()  # the pool's children too: the whole process group

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(pay, intents))
        assert first.proc.returncode == -9
        processes.append(start_celery_worker(env, name="quorum-w1"))

        ids = [i["transaction_id"] for i in intents]
        engine = create_engine(app_config["SQLALCHEMY_DATABASE_URI"])
        try:

            def completed() -> int:
                with engine.connect() as conn:
                    return conn.execute(
                        text(
                            "SELECT count(*) FROM transactions"
                            " WHERE status = 'completed' AND id = ANY(:ids)"
                        ),
                        {"ids": ids},
                    ).scalar()

            wait_until(lambda: completed() == PURCHASES, timeout=240, message="all completed")
            with engine.connect() as conn:
                twice = conn.execute(
                    text(
                        "SELECT transaction_id FROM transaction_events"
                        " WHERE to_status = 'completed' AND transaction_id = ANY(:ids)"
                        " GROUP BY transaction_id HAVING count(*) <> 1"
                    ),
                    {"ids": ids},
                ).all()
                credit_rows = conn.execute(
                    text(
                        "SELECT count(*), count(DISTINCT (source_transaction_id, sequence))"
                        " FROM billing_credits WHERE source_transaction_id = ANY(:ids)"
                    ),
                    {"ids": ids},
                ).one()
                quantity = conn.execute(
                    text("SELECT sum(quantity) FROM transactions WHERE id = ANY(:ids)"),
                    {"ids": ids},
                ).scalar()
        finally:
            engine.dispose()
        assert twice == []
        assert credit_rows[0] == credit_rows[1] == quantity
        # Native delayed delivery: Celery declared its delay-level queues as quorum too.
        types = queue_types(rabbit)
        assert types[QUEUE] == "quorum"
        delayed = {name: kind for name, kind in types.items() if name.startswith("celery_delayed_")}
        assert delayed and set(delayed.values()) == {"quorum"}, types
        print(f"\n[quorum] queues: {types}")
    finally:
        for proc in processes:
            proc.stop()
        bouncer.stop()
