"""The whole payment story with real processes: gunicorn API, Celery worker and beat
(two beats, as a misconfigured deploy would run), the Kaspi stub, PostgreSQL, Redis."""

from __future__ import annotations

import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select, update

from app.billing.core.models import Credit, Transaction, TransactionEvent
from app.clubs.models import ClubSubscription
from app.extensions import db
from tests.conftest import auth
from tests.support.factories import make_club, make_user
from tests.support.processes import start_celery_beat, start_celery_worker, wait_until
from tests.support.stub_server import (
    confirm_payment,
    expire_payment,
    fail_payment,
    reset_faults,
    set_faults,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def stack(clean_db, api_server, kaspi_stub, worker_env, tmp_path):
    """A worker and two beats against the session's API server and stub."""
    reset_faults(kaspi_stub)
    procs = [
        start_celery_worker(worker_env),
        start_celery_beat(worker_env, tmp_path / "beat-a", name="beat-a"),
        start_celery_beat(worker_env, tmp_path / "beat-b", name="beat-b"),
    ]
    yield api_server
    for proc in procs:
        proc.stop()
    reset_faults(kaspi_stub)


def post_intent(api, user, key=None, **body):
    headers = auth(user)
    if key:
        headers["Idempotency-Key"] = key
    return requests.post(
        f"{api}/api/billing/purchase-intent",
        json={"product_code": "EVENT_UPGRADE_500", **body},
        headers=headers,
        timeout=30,
    )


def poll_status(api, user, tx_id, until, timeout=40.0):
    def check():
        body = requests.get(
            f"{api}/api/billing/transactions/status",
            params={"transaction_id": tx_id},
            headers=auth(user),
            timeout=10,
        ).json()
        return body if body["status"] in until else None

    return wait_until(check, timeout=timeout, interval=0.2, message=f"status in {until}")


def credit_count(app, tx_id) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count())
            .select_from(Credit)
            .where(Credit.source_transaction_id == uuid.UUID(tx_id))
        )


def test_paid_intent_is_settled_by_the_workers_and_grants_exactly_quantity(stack, app, kaspi_stub):
    response = post_intent(stack, "buyer", quantity=3)
    assert response.status_code == 201, response.text
    body = response.json()
    assert poll_status(stack, "buyer", body["transaction_id"], {"pending"})["status"] == "pending"
    confirm_payment(kaspi_stub, body["payment"]["payment_id"])
    settled = poll_status(stack, "buyer", body["transaction_id"], {"completed", "failed"})
    assert settled["status"] == "completed" and settled["settled_at"]
    credits = requests.get(f"{stack}/api/billing/credits", headers=auth("buyer"), timeout=10)
    assert credits.json()["available"] == {"EVENT_UPGRADE_500": 3}
    assert credit_count(app, body["transaction_id"]) == 3
    with app.app_context():
        events = db.session.scalars(
            select(TransactionEvent.to_status).where(
                TransactionEvent.transaction_id == uuid.UUID(body["transaction_id"])
            )
        ).all()
    assert sorted(events) == ["completed", "pending"]


def test_declined_payment_fails_with_no_credit(stack, app, kaspi_stub):
    body = post_intent(stack, "buyer").json()
    fail_payment(kaspi_stub, body["payment"]["payment_id"])
    assert (
        poll_status(stack, "buyer", body["transaction_id"], {"failed", "completed"})["status"]
        == "failed"
    )
    assert credit_count(app, body["transaction_id"]) == 0


def test_stale_intent_expires_once_the_provider_expired_it(stack, app, kaspi_stub):
    body = post_intent(stack, "buyer").json()
    with app.app_context():
        db.session.execute(
            update(Transaction)
            .where(Transaction.id == uuid.UUID(body["transaction_id"]))
            .values(expires_at=func.now() - func.make_interval(0, 0, 0, 0, 0, 1))
        )
        db.session.commit()
    expire_payment(kaspi_stub, body["payment"]["payment_id"])
    assert (
        poll_status(stack, "buyer", body["transaction_id"], {"expired", "completed"})["status"]
        == "expired"
    )


def test_club_plan_purchase_activates_the_subscription(stack, app, kaspi_stub):
    with app.app_context():
        club_id = make_club(make_user("owner")).id
    body = post_intent(stack, "owner", product_code="CLUB_500", club_id=str(club_id)).json()
    confirm_payment(kaspi_stub, body["payment"]["payment_id"])
    poll_status(stack, "owner", body["transaction_id"], {"completed"})
    club = requests.get(f"{stack}/api/clubs/{club_id}", headers=auth("owner"), timeout=10)
    if club.status_code == 200:  # the clubs API reports the subscription too
        assert club.json()["plan_id"] == "club_500"
    with app.app_context():
        sub = db.session.scalar(select(ClubSubscription).where(ClubSubscription.club_id == club_id))
        assert (sub.plan_id, sub.status) == ("club_500", "active")


def test_ten_concurrent_requests_with_one_key_make_one_transaction(clean_db, api_server, app):
    with ThreadPoolExecutor(10) as pool:
        responses = list(
            pool.map(lambda _: post_intent(api_server, "racer", key="same-key"), range(10))
        )
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, statuses
    created = {r.json()["transaction_id"] for r in responses if r.status_code == 201}
    assert len(created) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Transaction)) == 1
    # Once the first has finished, every retry gets the same answer.
    replay = post_intent(api_server, "racer", key="same-key")
    assert replay.status_code == 201 and replay.json()["transaction_id"] in created
    assert replay.headers["Idempotent-Replayed"] == "true"


def test_twelve_concurrent_settles_from_api_cli_and_worker_grant_once(
    clean_db, api_server, app, worker_env
):
    tx_id = post_intent(api_server, "buyer", quantity=2).json()["transaction_id"]
    worker = start_celery_worker(worker_env, concurrency=4)
    try:

        def via_api(wait: int):
            return requests.post(
                f"{api_server}/api/dev/billing/settle?wait={wait}",
                json={"transaction_id": tx_id, "outcome": "paid"},
                headers=auth("buyer"),
                timeout=30,
            ).status_code

        def via_cli(_):
            return subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "flask",
                    "--app",
                    "wsgi",
                    "billing",
                    "settle",
                    tx_id,
                    "--outcome",
                    "paid",
                ],
                env=worker_env,
                capture_output=True,
                timeout=60,
                check=False,  # the exit code is what the test compares
            ).returncode

        with ThreadPoolExecutor(12) as pool:
            jobs = (
                [pool.submit(via_api, 1) for _ in range(4)]
                + [pool.submit(via_api, 0) for _ in range(4)]
                + [pool.submit(via_cli, i) for i in range(4)]
            )
            results = [j.result() for j in jobs]
        assert results[:4] == [200] * 4 and results[4:8] == [202] * 4 and results[8:] == [0] * 4
        # Let the queued settles run too before counting.
        wait_until(lambda: _queue_empty(worker_env), timeout=30, message="queue drained")
    finally:
        worker.stop()
    assert credit_count(app, tx_id) == 2
    with app.app_context():
        completions = db.session.scalar(
            select(func.count())
            .select_from(TransactionEvent)
            .where(
                TransactionEvent.transaction_id == uuid.UUID(tx_id),
                TransactionEvent.to_status == "completed",
            )
        )
    assert completions == 1


def _queue_empty(env) -> bool:
    import redis

    return redis.Redis.from_url(env["REDIS_URL"]).llen("celery") == 0


def test_provider_errors_during_polling_do_not_record_anything_wrong(stack, app, kaspi_stub):
    body = post_intent(stack, "buyer").json()
    confirm_payment(kaspi_stub, body["payment"]["payment_id"])
    set_faults(kaspi_stub, error_rate=1.0)
    tx_id = uuid.UUID(body["transaction_id"])

    def polled_while_down():
        with app.app_context():
            return (
                db.session.scalar(select(Transaction.poll_attempts).where(Transaction.id == tx_id))
                >= 3
            )

    wait_until(polled_while_down, timeout=30, message="polls during the outage")
    assert (
        requests.get(
            f"{stack}/api/billing/transactions/{tx_id}", headers=auth("buyer"), timeout=10
        ).json()["status"]
        == "pending"
    )
    reset_faults(kaspi_stub)
    assert poll_status(stack, "buyer", str(tx_id), {"completed", "failed"})["status"] == "completed"
    assert credit_count(app, str(tx_id)) == 1


def test_provider_timeouts_during_polling_then_recovery(stack, app, kaspi_stub):
    body = post_intent(stack, "buyer").json()
    confirm_payment(kaspi_stub, body["payment"]["payment_id"])
    set_faults(kaspi_stub, latency_ms=2500)  # above the client's read timeout
    tx_id = body["transaction_id"]
    wait_until(lambda: _attempts(app, tx_id) >= 2, timeout=40, message="timed-out polls")
    assert _status(app, tx_id) == "pending"
    reset_faults(kaspi_stub)
    assert poll_status(stack, "buyer", tx_id, {"completed"})["status"] == "completed"
    assert credit_count(app, tx_id) == 1


def _attempts(app, tx_id):
    with app.app_context():
        return db.session.scalar(
            select(Transaction.poll_attempts).where(Transaction.id == uuid.UUID(tx_id))
        )


def _status(app, tx_id):
    with app.app_context():
        return db.session.scalar(
            select(Transaction.status).where(Transaction.id == uuid.UUID(tx_id))
        )


def test_worker_killed_mid_settlement_settles_exactly_once_after_restart(
    clean_db, api_server, app, kaspi_stub, worker_env, tmp_path
):
    import redis

    tx_id = post_intent(api_server, "buyer", quantity=2).json()["transaction_id"]
    payment_id = _payment_id(app, tx_id)
    confirm_payment(kaspi_stub, payment_id)
    worker = start_celery_worker(
        # The row it claims comes due again when its lease ends (30 s in production):
        # a short one, so the replacement is not kept waiting for nothing. Rows being
        # settled stay locked, and a sweep skips locked rows, so a lease shorter than
        # the pause re-claims nothing.
        {**worker_env, "TEST_SETTLE_PAUSE_S": "30", "POLL_CLAIM_LEASE_S": "3"},
        name="doomed-worker",
        app="tests.support.paused_worker",
    )
    beat = start_celery_beat(worker_env, tmp_path / "beat", name="beat-kill")
    r = redis.Redis.from_url(worker_env["REDIS_URL"])
    try:
        wait_until(
            lambda: r.exists(f"test:settling:{tx_id}"),
            timeout=40,
            message="the worker to be mid-settlement",
        )
        worker.kill9()
        assert _status(app, tx_id) == "pending"  # the open transaction died with the worker
        assert credit_count(app, tx_id) == 0
        replacement = start_celery_worker(worker_env, name="replacement-worker")
        try:
            wait_until(
                lambda: _status(app, tx_id) == "completed",
                timeout=60,
                message="settlement after restart",
            )
        finally:
            replacement.stop()
    finally:
        worker.kill9()
        beat.stop()
    assert credit_count(app, tx_id) == 2


def _payment_id(app, tx_id):
    with app.app_context():
        return db.session.scalar(
            select(Transaction.provider_payment_id).where(Transaction.id == uuid.UUID(tx_id))
        )
