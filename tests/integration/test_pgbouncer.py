"""psycopg 3 behind a real PgBouncer (Debian's 1.18) in transaction mode.

PgBouncer 1.18 does not track prepared statements (``max_prepared_statements`` is
1.21 on), so the choice is: psycopg prepares nothing
(``DATABASE_PGBOUNCER_TRANSACTION_MODE=1`` sets ``prepare_threshold=None``). The
first test shows what goes wrong without it; the others run the app through
PgBouncer with it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, exc, text

from app.config import PROFILES
from tests.conftest import auth
from tests.integration.conftest import service_env
from tests.support import pgbouncer_server
from tests.support.pgbouncer_server import PgBouncer
from tests.support.processes import start_gunicorn

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not pgbouncer_server.available(), reason="apt-get install pgbouncer"),
]

ROUNDS = 40


@pytest.fixture(scope="module")
def bouncer(app_config, tmp_path_factory) -> Iterator[PgBouncer]:
    started = PgBouncer(
        tmp_path_factory.mktemp("pgbouncer"), app_config["SQLALCHEMY_DATABASE_URI"]
    ).start()
    try:
        yield started
    finally:
        started.stop()


def hammer(engine, clients: int = 6) -> list[BaseException]:
    """The same statement in many short transactions from ``clients`` connections at once:
    above psycopg's prepare threshold (5 runs), so it is prepared when preparing is on."""
    errors: list[BaseException] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        with engine.connect() as conn:
            for i in range(ROUNDS):
                try:
                    conn.execute(
                        text("SELECT count(*) FROM transactions WHERE user_id = :u"),
                        {"u": f"user-{n}-{i % 3}"},
                    ).scalar()
                    conn.commit()
                except exc.DBAPIError as err:
                    with lock:
                        errors.append(err)
                    conn.rollback()

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    return errors


def test_prepared_statements_fail_behind_transaction_pooling_when_left_on(app, bouncer):
    engine = create_engine(bouncer.url(), pool_size=6)
    try:
        errors = hammer(engine)
    finally:
        engine.dispose()
    assert errors, "psycopg's prepared statements went through transaction pooling unharmed"
    assert any("prepared statement" in str(e) for e in errors), errors[:3]


def test_the_pgbouncer_setting_turns_preparing_off_and_every_statement_passes(
    app, bouncer, monkeypatch
):
    monkeypatch.setenv("DATABASE_PGBOUNCER_TRANSACTION_MODE", "1")
    options = PROFILES["testing"].from_env()["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["connect_args"]["prepare_threshold"] is None
    engine = create_engine(bouncer.url(), pool_size=6, **options)
    try:
        assert hammer(engine) == []
    finally:
        engine.dispose()


def test_purchases_and_polls_through_pgbouncer(app, app_config, clean_db, kaspi_stub, tmp_path):
    # Two server connections per sync worker: a request may hold two at once (its
    # session's transaction and a single statement on the autocommit pool); with
    # fewer, three workers waited on each other until gunicorn killed them
    # (docs/OPERATIONS.md, "PgBouncer").
    bouncer = PgBouncer(
        tmp_path / "pgbouncer", app_config["SQLALCHEMY_DATABASE_URI"], server_pool_size=6
    ).start()
    env = service_env(
        app_config,
        KASPI_BASE_URL=kaspi_stub,
        DATABASE_URL=bouncer.url(),
        DATABASE_PGBOUNCER_TRANSACTION_MODE="1",
    )
    try:
        proc, api = start_gunicorn("api-pgbouncer", "wsgi:app", env, workers=3)
    except BaseException:
        bouncer.stop()
        raise
    try:

        def buy_and_poll(n: int) -> tuple[int, list[int]]:
            user = f"bouncer-{n}"
            intent = requests.post(
                f"{api}/api/billing/purchase-intent",
                json={"product_code": "EVENT_UPGRADE_500"},
                headers=auth(user),
                timeout=30,
            )
            polls = [
                requests.get(
                    f"{api}/api/billing/transactions/{intent.json()['transaction_id']}",
                    headers=auth(user),
                    timeout=30,
                ).status_code
                for _ in range(8)
            ]
            return intent.status_code, polls

        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(buy_and_poll, range(24)))
    finally:
        proc.stop()
        bouncer.stop()
    assert [code for code, _ in answers] == [201] * 24, answers
    assert all(polls == [200] * 8 for _, polls in answers), answers
    log = Path(proc.log_path).read_text(errors="replace")
    assert "prepared statement" not in log


def retries_answered(api: str) -> float:
    text_ = requests.get(f"{api}/metrics", timeout=10).text
    for line in text_.splitlines():
        if line.startswith('billing_db_read_retries_total{outcome="answered"}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_a_pgbouncer_restart_reads_answer_and_writes_503_changing_nothing(
    app, app_config, clean_db, kaspi_stub, tmp_path
):
    bouncer = PgBouncer(
        tmp_path / "pgbouncer", app_config["SQLALCHEMY_DATABASE_URI"], server_pool_size=4
    ).start()
    env = service_env(
        app_config,
        KASPI_BASE_URL=kaspi_stub,
        DATABASE_URL=bouncer.url(),
        DATABASE_PGBOUNCER_TRANSACTION_MODE="1",
    )
    try:
        # One worker: its pooled connections are the ones the restart cuts.
        proc, api = start_gunicorn("api-pgbouncer-restart", "wsgi:app", env, workers=1)
    except BaseException:
        bouncer.stop()
        raise
    try:
        bought = requests.post(
            f"{api}/api/billing/purchase-intent",
            json={"product_code": "EVENT_UPGRADE_500"},
            headers=auth("poller"),
            timeout=30,
        )
        assert bought.status_code == 201, bought.text
        status_url = f"{api}/api/billing/transactions/{bought.json()['transaction_id']}"
        assert requests.get(status_url, headers=auth("poller"), timeout=30).status_code == 200

        bouncer.restart()
        # The poll's pooled connection is dead: it is run once more on a fresh one.
        polled = requests.get(status_url, headers=auth("poller"), timeout=30)
        assert polled.status_code == 200, polled.text
        assert polled.json()["status"] == "pending"
        assert retries_answered(api) == 1

        bouncer.restart()
        # A write on a dead connection answers 503 with Retry-After and writes nothing.
        refused = requests.post(
            f"{api}/api/billing/purchase-intent",
            json={"product_code": "EVENT_UPGRADE_500"},
            headers=auth("writer"),
            timeout=30,
        )
        assert refused.status_code == 503, refused.text
        assert int(refused.headers["Retry-After"]) >= 1
        assert refused.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
        engine = create_engine(app_config["SQLALCHEMY_DATABASE_URI"])
        try:
            with engine.connect() as conn:
                written = conn.execute(
                    text("SELECT count(*) FROM transactions WHERE user_id = 'writer'")
                ).scalar()
        finally:
            engine.dispose()
        assert written == 0
        # The client's retry goes through.
        again = requests.post(
            f"{api}/api/billing/purchase-intent",
            json={"product_code": "EVENT_UPGRADE_500"},
            headers=auth("writer"),
            timeout=30,
        )
        assert again.status_code == 201, again.text
    finally:
        proc.stop()
        bouncer.stop()
