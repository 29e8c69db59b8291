"""Edges a client (or the infrastructure) can provoke, through real gunicorn:
over-long request lines and headers, and a database connection killed mid-request."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator

import psycopg
import pytest
import requests

from tests.conftest import auth
from tests.integration.conftest import service_env
from tests.support.processes import start_gunicorn, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def one_worker_api(app, app_config, kaspi_stub) -> Iterator[str]:
    """One worker process, so "the next request works" is asked of the same worker
    (and the same connection pool) that lost its connection."""
    env = service_env(app_config, KASPI_BASE_URL=kaspi_stub)
    proc, base_url = start_gunicorn("api-one", "wsgi:app", env, workers=1)
    try:
        yield base_url
    finally:
        proc.stop()


def raw_request(base_url: str, head: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``head`` as-is (requests would refuse or reshape such requests)."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    raw = b"".join(chunks)
    header_block, _, body = raw.partition(b"\r\n\r\n")
    lines = header_block.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body


@pytest.mark.parametrize(
    ("head", "status", "code"),
    [
        (
            b"GET /api/billing/products?q=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            414,
            "URI_TOO_LONG",
        ),
        (
            b"GET /api/billing/products HTTP/1.1\r\nHost: x\r\nX-Big: "
            + b"b" * 20000
            + b"\r\n\r\n",
            431,
            "REQUEST_HEADER_FIELDS_TOO_LARGE",
        ),
        (
            b"GET /api/billing/products HTTP/1.1\r\nHost: x\r\n"
            + b"".join(b"X-H%d: v\r\n" % n for n in range(150))
            + b"\r\n",
            431,
            "REQUEST_HEADER_FIELDS_TOO_LARGE",
        ),
        (b"NOT A REQUEST\r\n\r\n", 400, "BAD_REQUEST"),
    ],
)
def test_requests_gunicorn_refuses_get_the_json_envelope(api_server, head, status, code):
    import json

    got, headers, body = raw_request(api_server, head)

    assert got == status
    assert headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert error["code"] == code and error["message"]
    assert b"<html" not in body


def test_a_generous_request_line_and_header_still_reach_the_app(api_server):
    response = requests.get(
        f"{api_server}/api/billing/products",
        params={"q": "a" * 7000},
        headers={"X-Long": "c" * 12000},
        timeout=10,
    )
    assert response.status_code == 200
    assert "products" in response.json()


def kill_when_waiting_on_a_lock(
    killer: psycopg.Connection, request: threading.Thread, which: str, params: tuple
) -> None:
    """Terminate the backend of the request ``request`` runs once it waits on a lock
    (``which`` picks it among the database's sessions), then let the request finish."""

    def waiting_backend() -> int | None:
        row = killer.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND " + which,
            params,
        ).fetchone()
        return row[0] if row else None

    victim = wait_until(waiting_backend, timeout=20, message="the request to wait on the lock")
    killer.execute("SELECT pg_terminate_backend(%s)", (victim,))
    request.join(timeout=30)


def test_a_connection_killed_mid_request_is_503_and_the_next_request_works(
    clean_db, one_worker_api, app_config
):
    user = f"kill-{uuid.uuid4().hex[:8]}"
    created = requests.post(
        f"{one_worker_api}/api/billing/purchase-intent",
        json={"product_code": "EVENT_UPGRADE_500"},
        headers=auth(user),
        timeout=30,
    )
    assert created.status_code == 201, created.text
    tx_id = created.json()["transaction_id"]
    dsn = app_config["SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg://", "postgresql://")
    answers: list[requests.Response] = []

    with psycopg.connect(dsn) as holder, psycopg.connect(dsn, autocommit=True) as killer:
        # Hold the row so the request's settle waits inside PostgreSQL, mid-flight.
        holder.execute("SELECT 1 FROM transactions WHERE id = %s FOR UPDATE", (tx_id,))
        request = threading.Thread(
            target=lambda: answers.append(
                requests.post(
                    f"{one_worker_api}/api/dev/billing/settle?wait=1",
                    json={"transaction_id": tx_id, "outcome": "paid"},
                    headers=auth(user),
                    timeout=30,
                )
            )
        )
        request.start()

        kill_when_waiting_on_a_lock(
            killer,
            request,
            "pid <> pg_backend_pid() AND pid <> %s",
            (holder.info.backend_pid,),
        )
        holder.rollback()

    assert answers, "the request did not finish"
    answer = answers[0]
    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"].isdigit()
    assert answer.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    # The same (only) worker answers the next requests from a fresh connection.
    for _ in range(3):
        status = requests.get(
            f"{one_worker_api}/api/billing/transactions/{tx_id}", headers=auth(user), timeout=10
        )
        assert status.status_code == 200, status.text
        assert status.json()["status"] == "pending"


def test_an_intent_whose_statement_loses_its_connection_is_503_and_leaves_nothing(
    clean_db, one_worker_api, app_config
):
    """The intent's statements go to psycopg directly (app.driver_statements): a
    connection killed under one is still an outage (503), the pool does not hand the
    dead connection out again, and the killed INSERT left no row."""
    user = f"kill-intent-{uuid.uuid4().hex[:8]}"

    def buy() -> requests.Response:
        return requests.post(
            f"{one_worker_api}/api/billing/purchase-intent",
            json={"product_code": "EVENT_UPGRADE_500"},
            headers=auth(user),
            timeout=30,
        )

    assert buy().status_code == 201  # the worker's catalog snapshot is warm
    dsn = app_config["SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg://", "postgresql://")
    answers: list[requests.Response] = []
    with psycopg.connect(dsn) as holder, psycopg.connect(dsn, autocommit=True) as killer:
        # The intent's INSERT prices from billing_policy: it waits here, mid-statement.
        holder.execute("LOCK TABLE billing_policy IN ACCESS EXCLUSIVE MODE")
        request = threading.Thread(target=lambda: answers.append(buy()))
        request.start()

        kill_when_waiting_on_a_lock(
            killer, request, "query LIKE %s", ("%INSERT INTO transactions%",)
        )
        holder.rollback()

        assert answers, "the request did not finish"
        assert answers[0].status_code == 503, answers[0].text
        assert answers[0].json()["error"]["code"] == "SERVICE_UNAVAILABLE"
        assert answers[0].headers["Retry-After"].isdigit()
        # The same (only) worker buys again at once, on a fresh connection.
        assert [buy().status_code for _ in range(3)] == [201, 201, 201]
        count = killer.execute(
            "SELECT count(*) FROM transactions WHERE user_id = %s", (user,)
        ).fetchone()
    assert count == (4,)  # the warm-up and the three after: the killed INSERT left none


@pytest.fixture(scope="module")
def api_without_broker(app, app_config, kaspi_stub) -> Iterator[str]:
    """The API with its Redis (the Celery broker) pointing at a port nobody listens on."""
    from tests.support.processes import free_port

    dead = f"redis://127.0.0.1:{free_port()}/0"
    env = service_env(app_config, KASPI_BASE_URL=kaspi_stub, REDIS_URL=dead)
    proc, base_url = start_gunicorn("api-no-broker", "wsgi:app", env, workers=1)
    try:
        yield base_url
    finally:
        proc.stop()


def make_pending(app, user_id: str) -> str:
    from tests.support.factories import make_transaction, make_user

    with app.app_context():
        tx = make_transaction(make_user(user_id))
        return str(tx.id)


def test_dev_settle_never_answers_202_for_a_task_the_broker_refused(
    clean_db, app, api_without_broker, api_server
):
    user = f"nobroker-{uuid.uuid4().hex[:8]}"
    tx_id = make_pending(app, user)
    body = {"transaction_id": tx_id, "outcome": "paid"}

    refused = requests.post(
        f"{api_without_broker}/api/dev/billing/settle", json=body, headers=auth(user), timeout=30
    )

    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert refused.headers["Retry-After"].isdigit()
    # With a broker the same request is queued.
    queued = requests.post(
        f"{api_server}/api/dev/billing/settle", json=body, headers=auth(user), timeout=30
    )
    assert queued.status_code == 202, queued.text
    assert queued.json()["task_id"]
