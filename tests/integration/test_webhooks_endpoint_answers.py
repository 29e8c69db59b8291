"""What a receiver answers, and what the operator does about it, on real servers.

410 disables the endpoint (and only it); ``webhooks enable`` sends what waited,
events of the time it was disabled included, in order, with their original ids;
a 503's Retry-After is honoured over a shorter retry schedule; ``webhooks
attempts`` shows all of it. A rotated
secret signs beside the new one during the overlap and not after it; ``webhooks
replay`` re-sends an event with its original id, signed with the current secret.
Fixtures and helpers: tests/integration/test_webhooks_delivery.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from standardwebhooks import Webhook, WebhookVerificationError

from app.extensions import db
from tests.integration.test_webhooks_delivery import *  # noqa: F403 - the fixtures
from tests.integration.test_webhooks_delivery import (
    FAST_RELAY,
    all_completed,
    assert_in_order_per_key,
    buy_and_pay,
    cli,
    deliveries_by_state,
    new_user,
    outbox,
    register,
    rows,
)
from tests.support.processes import Process, start_celery_beat, start_celery_worker, wait_until
from tests.support.webhook_receiver import Received, WebhookReceiver

pytestmark = pytest.mark.integration


def verifies(secret: str, request: Received) -> bool:
    try:
        Webhook(secret).verify(request.body, request.headers)
    except WebhookVerificationError:
        return False
    return True


def end_overlap(app, endpoint_id: str) -> None:
    """What 24 hours after a rotation leaves: the old secret's overlap is over."""
    with app.app_context():
        try:
            db.session.execute(
                text(
                    "UPDATE webhook_endpoints "
                    "SET previous_secret_until = now() - interval '1 second' WHERE id = :id"
                ),
                {"id": endpoint_id},
            )
            db.session.commit()
        finally:
            db.session.remove()


def pending_for(app, endpoint_id: str) -> int:
    sql = (
        "SELECT count(*) AS n FROM webhook_deliveries "
        "WHERE endpoint_id = :id AND state <> 'delivered'"
    )
    return rows(app, sql, id=endpoint_id)[0]["n"]


def endpoint_row(app, endpoint_id: str) -> dict:
    return rows(app, "SELECT * FROM webhook_endpoints WHERE id = :id", id=endpoint_id)[0]


def test_410_disables_only_that_endpoint_and_enable_resumes_honouring_retry_after(
    clean_db, webhook_tables, app, api_server, stub, worker_env, receiver, tmp_path
):
    # The schedule alone would retry within about a second: a 2 s gap is Retry-After's.
    env = {**worker_env, **FAST_RELAY, "WEBHOOK_RETRY_SCHEDULE_S": ",".join(["0.3"] * 20)}
    gone = receiver
    healthy = WebhookReceiver().start()
    gone_endpoint = register(app, gone.url)
    gone.secret = gone_endpoint["secret"]
    healthy.secret = register(app, healthy.url)["secret"]
    gone.answer(410)
    user = new_user()
    procs: list[Process] = [
        start_celery_worker(env, name="webhooks-worker"),
        start_celery_beat(env, tmp_path / "beat", name="webhooks-beat"),
    ]
    try:
        first = buy_and_pay(api_server, stub, user)
        wait_until(lambda: all_completed(app, [first]), timeout=40, message="settled")
        first_events = {e["id"] for e in outbox(app)}
        healthy.wait_for_delivered(first_events, timeout=30)
        wait_until(
            lambda: endpoint_row(app, gone_endpoint["id"])["disabled_at"] is not None,
            timeout=30,
            message="the endpoint that answered 410 to be disabled",
        )
        row = endpoint_row(app, gone_endpoint["id"])
        assert row["disabled_reason"].startswith("410"), row
        answered_410 = [r for r in gone.received() if r.status == 410]
        assert answered_410 and {r.webhook_id for r in answered_410} <= first_events

        # The relay keeps running for the healthy endpoint; the disabled one hears nothing.
        second = buy_and_pay(api_server, stub, user)
        wait_until(lambda: all_completed(app, [second]), timeout=40, message="settled")
        every_event = {e["id"] for e in outbox(app)}
        healthy.wait_for_delivered(every_event, timeout=30)
        assert len(gone.received()) == len(answered_410)
        assert not any(r.delivered for r in gone.received())

        gone.answer(503, retry_after=2)
        shown = cli(env, "enable", gone_endpoint["id"])
        assert shown["enabled"] is True and shown["disabled_reason"] is None
        wait_until(
            lambda: any(r.status == 503 for r in gone.received()),
            timeout=30,
            message="a 503 after enabling",
        )
        gone.answer(200)
        # Its queue kept what happened while it was disabled: everything arrives.
        gone.wait_for_delivered(every_event, timeout=30)
        wait_until(  # the relay records the answer just after the receiver gave it
            lambda: not pending_for(app, gone_endpoint["id"]),
            timeout=20,
            message="the endpoint's deliveries recorded as delivered",
        )
    finally:
        for proc in procs:
            proc.stop()
        healthy.stop()

    log = gone.received()
    assert all(r.verified for r in log)
    assert_in_order_per_key(log)
    granted = [r.sequence for r in log if r.delivered and r.type == "credit.granted"]
    assert granted == [1, 2]
    for event_id in {r.webhook_id for r in log if r.status == 503}:
        tries = [r for r in log if r.webhook_id == event_id]
        last_503 = max(i for i, r in enumerate(tries) if r.status == 503)
        waited = tries[last_503 + 1].arrived_at - tries[last_503].arrived_at
        assert waited >= 1.95, f"retried {waited:.2f}s after a 503 with Retry-After: 2"
    # The operator's view: every answer, newest first.
    attempts = cli(env, "attempts", gone_endpoint["id"])
    statuses = [a["status"] for a in attempts]
    assert {410, 503, 200} <= set(statuses) and statuses[0] == 200, statuses
    assert all(a["event"] in every_event and not a["replay"] for a in attempts)
    assert all(isinstance(a["latency_ms"], int) for a in attempts)


def test_rotation_overlap_then_only_the_new_secret_and_replay_with_the_original_id(
    clean_db, webhook_tables, app, api_server, stub, worker_env, receiver, tmp_path
):
    env = {**worker_env, **FAST_RELAY}
    endpoint = register(app, receiver.url)
    old_secret = endpoint["secret"]
    receiver.secret = old_secret
    user = new_user()
    procs: list[Process] = [
        start_celery_worker(env, name="webhooks-worker"),
        start_celery_beat(env, tmp_path / "beat", name="webhooks-beat"),
    ]

    def buy_and_receive() -> list[Received]:
        before = {e["id"] for e in outbox(app)}
        tx_id = buy_and_pay(api_server, stub, user)
        wait_until(lambda: all_completed(app, [tx_id]), timeout=40, message="settled")
        new = {e["id"] for e in outbox(app)} - before
        receiver.wait_for_delivered(new, timeout=30)
        wait_until(
            lambda: deliveries_by_state(app) == {"delivered": len(before) + len(new)},
            timeout=20,
            message="the deliveries recorded as delivered",
        )
        return [r for r in receiver.delivered() if r.webhook_id in new]

    try:
        before_rotation = buy_and_receive()
        rotated = cli(env, "rotate", endpoint["id"])
        new_secret = rotated["secret"]
        assert new_secret.startswith("whsec_") and new_secret != old_secret
        until = datetime.fromisoformat(rotated["previous_secret_until"])
        assert abs(until - (datetime.now(UTC) + timedelta(hours=24))) < timedelta(minutes=5)
        receiver.secret = new_secret
        during_overlap = buy_and_receive()
        # The overlap ends: the test moves the end instead of waiting 24 hours.
        end_overlap(app, endpoint["id"])
        after_overlap = buy_and_receive()
        # The operator replays the very first event: one attempt, its original id.
        replayed_id = before_rotation[0].webhook_id
        answer = cli(env, "replay", endpoint["id"], "--event", replayed_id)
        assert [(a["event"], a["status"]) for a in answer] == [(replayed_id, 200)]
    finally:
        for proc in procs:
            proc.stop()

    assert all(verifies(old_secret, r) and not verifies(new_secret, r) for r in before_rotation)
    for r in during_overlap:  # both signatures, either secret verifies
        assert len(r.headers["webhook-signature"].split(" ")) == 2
        assert verifies(new_secret, r) and verifies(old_secret, r)
    for r in after_overlap:
        assert len(r.headers["webhook-signature"].split(" ")) == 1
        assert verifies(new_secret, r) and not verifies(old_secret, r)

    again = [r for r in receiver.received() if r.webhook_id == replayed_id]
    assert len(again) == 2 and again[1].body == again[0].body
    assert verifies(new_secret, again[1]) and not verifies(old_secret, again[1])
    recorded = rows(
        app,
        "SELECT replay, status_code FROM webhook_attempts WHERE event_id = :id ORDER BY id",
        id=replayed_id,
    )
    assert recorded == [{"replay": False, "status_code": 200}, {"replay": True, "status_code": 200}]
    # A replay changes no delivery: still one attempt, delivered.
    assert rows(
        app, "SELECT attempts, state FROM webhook_deliveries WHERE event_id = :id", id=replayed_id
    ) == [{"attempts": 1, "state": "delivered"}]
    assert deliveries_by_state(app) == {"delivered": 6}
