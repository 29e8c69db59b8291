"""The relay on a clock the test holds: real POSTs to a real HTTP receiver that checks
every signature with the Standard Webhooks reference library (``standardwebhooks``)."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook, WebhookVerificationError

from app.db import step
from app.extensions import db
from app.webhooks import endpoints, outbox, relay, replay, review
from app.webhooks.catalogue import EventType
from app.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.db


class Receiver:
    """Answers each POST with the next queued status (then 204), recording what came."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, str]]] = []
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                with receiver.lock:
                    receiver.requests.append((dict(self.headers.items()), body))
                    status, headers = receiver.answers.pop(0) if receiver.answers else (204, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, *statuses: int | tuple[int, dict[str, str]]) -> None:
        self.answers.extend(s if isinstance(s, tuple) else (s, {}) for s in statuses)

    def verified(self, secret: str) -> list[dict]:
        """Every request's body, each signature checked by the reference library."""
        return [Webhook(secret).verify(body, headers) for headers, body in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.server.shutdown()
    made.server.server_close()


@dataclass(frozen=True)
class Registered:
    id: str
    secret: str


@pytest.fixture
def endpoint(db_session, receiver, app) -> Registered:
    with step():
        made = endpoints.add(receiver.url, None)
        return Registered(made.id, made.secret)


@dataclass(frozen=True)
class Health:
    disabled_at: datetime | None
    disabled_reason: str | None
    failing_since: datetime | None
    secret: str


def health(endpoint_id: str) -> Health:
    """The endpoint as it is committed now (the read ends its transaction)."""
    row = db.session.get_one(WebhookEndpoint, endpoint_id, populate_existing=True)
    seen = Health(row.disabled_at, row.disabled_reason, row.failing_since, row.secret)
    db.session.rollback()
    return seen


T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def facts(*kinds: EventType, key: str | None = None) -> str:
    key = key or f"transaction:{uuid.uuid4()}"
    with step():
        for n, kind in enumerate(kinds):
            outbox.emit(kind, key, {"n": n}, now=T0)
    return key


def run(now: datetime) -> int:
    """One relay pass at ``now`` (the clock the test holds)."""
    return relay.relay(clock=lambda: now)


def delivery_states(key: str) -> list[tuple[int, str, int]]:
    rows = db.session.execute(
        select(WebhookDelivery.sequence, WebhookDelivery.state, WebhookDelivery.attempts)
        .where(WebhookDelivery.ordering_key == key)
        .order_by(WebhookDelivery.sequence)
    ).all()
    db.session.rollback()
    return [tuple(row) for row in rows]


def test_a_delivery_is_signed_by_the_standard_and_recorded(endpoint, receiver):
    key = facts(EventType.TRANSACTION_COMPLETED)
    assert run(T0) == 1
    [body] = receiver.verified(endpoint.secret)
    assert body["type"] == "transaction.completed"
    assert body["data"]["ordering_key"] == key and body["data"]["sequence"] == 1
    assert body["timestamp"].startswith("2026-12-01T12:00:00")
    headers, _ = receiver.requests[0]
    assert headers["webhook-id"].startswith("msg_")
    assert delivery_states(key) == [(1, "delivered", 1)]
    assert run(T0) == 0  # nothing is due any more


def test_event_n_plus_one_waits_until_n_is_delivered_and_ids_stay_the_same(endpoint, receiver):
    key = facts(EventType.TRANSACTION_NEEDS_REVIEW, EventType.TRANSACTION_COMPLETED)
    receiver.answer(500)
    assert run(T0) == 1  # the first failed; the second was never sent
    assert delivery_states(key) == [(1, "pending", 1), (2, "pending", 0)]
    assert run(T0 + timedelta(seconds=2)) == 0  # the retry is not due before ~5 s
    assert run(T0 + timedelta(seconds=6)) == 2  # the retry, then the next one
    ids = [headers["webhook-id"] for headers, _ in receiver.requests]
    assert ids[0] == ids[1] != ids[2]
    sequences = [body["data"]["sequence"] for body in receiver.verified(endpoint.secret)]
    assert sequences == [1, 1, 2]


def test_the_retry_schedule_ends_dead_and_dead_is_listed(endpoint, receiver, app):
    key = facts(EventType.CREDIT_GRANTED)
    schedule = app.config["WEBHOOK_RETRY_SCHEDULE_S"]
    receiver.answer(*[500] * (len(schedule) + 1))
    now = T0
    for wait in schedule:
        assert run(now) == 1
        [(_, state, _)] = delivery_states(key)
        assert state == "pending"
        next_at = db.session.scalar(
            select(WebhookDelivery.next_attempt_at).where(WebhookDelivery.ordering_key == key)
        )
        db.session.rollback()
        assert next_at is not None
        # With jitter of ±10 %: never before 90 % of the schedule's wait.
        assert now + timedelta(seconds=wait * 0.9) <= next_at <= now + timedelta(seconds=wait * 1.1)
        now = next_at
    assert run(now) == 1
    assert delivery_states(key) == [(1, "dead", len(schedule) + 1)]
    dead = [item for item in review.dead(100) if item.endpoint_id == endpoint.id]
    db.session.rollback()
    assert [(d.event_type, d.attempts, d.last_status_code) for d in dead] == [
        ("credit.granted", len(schedule) + 1, 500)
    ]
    # The operator's review queue lists it, with the command that replays it.
    shown = app.test_cli_runner().invoke(args=["billing", "review"])
    assert shown.exit_code == 0, shown.output
    assert f"--event {dead[0].event_id}" in shown.output
    # A replay the receiver takes ends it: delivered, off the dead list.
    replay.replay(endpoint.id, event_id=dead[0].event_id)
    assert delivery_states(key) == [(1, "delivered", len(schedule) + 1)]
    assert [d for d in review.dead(100) if d.endpoint_id == endpoint.id] == []
    db.session.rollback()


def test_429_and_503_wait_for_retry_after(endpoint, receiver):
    key = facts(EventType.CREDIT_CONSUMED)
    receiver.answer((503, {"Retry-After": "120"}))
    run(T0)
    assert run(T0 + timedelta(seconds=60)) == 0  # the schedule says 5 s; the receiver 120 s
    assert run(T0 + timedelta(seconds=121)) == 1
    assert delivery_states(key) == [(1, "delivered", 2)]


def test_410_disables_the_endpoint_and_its_deliveries_wait_in_order(endpoint, receiver):
    key = facts(EventType.TRANSACTION_COMPLETED, EventType.TRANSACTION_REFUNDED)
    receiver.answer(410)
    run(T0)
    seen = health(endpoint.id)
    assert seen.disabled_at is not None and "410" in (seen.disabled_reason or "")
    assert run(T0 + timedelta(hours=1)) == 0
    with step():
        endpoints.enable(endpoint.id, T0 + timedelta(hours=1))
    assert run(T0 + timedelta(hours=1)) == 2
    assert [b["type"] for b in receiver.verified(endpoint.secret)] == [
        "transaction.completed",
        "transaction.completed",
        "transaction.refunded",
    ]
    assert delivery_states(key) == [(1, "delivered", 2), (2, "delivered", 1)]


def test_an_endpoint_failing_for_five_days_is_disabled_with_an_error(endpoint, receiver, caplog):
    facts(*[EventType.CREDIT_GRANTED] * 1, key=f"user:{uuid.uuid4()}")
    facts(EventType.CREDIT_GRANTED, key=f"user:{uuid.uuid4()}")
    receiver.answer(*[500] * 20)
    run(T0)  # both fail: failing since T0
    seen = health(endpoint.id)
    assert seen.failing_since == T0 and seen.disabled_at is None
    with caplog.at_level(logging.ERROR):
        run(T0 + timedelta(days=5, minutes=1))
    seen = health(endpoint.id)
    assert seen.disabled_at is not None and "failing since" in (seen.disabled_reason or "")
    assert any("disabled" in record.getMessage() for record in caplog.records)
    # Enabled once fixed: what waits goes at once, not at a retry hours away.
    later = T0 + timedelta(days=5, minutes=2)
    with step():
        endpoints.enable(endpoint.id, later)
    assert run(later) == 2


def test_during_a_rotation_both_secrets_verify_and_after_it_only_the_new_one(endpoint, receiver):
    old = endpoint.secret
    with step():
        endpoints.rotate(endpoint.id, datetime.now(UTC))
    new = health(endpoint.id).secret
    facts(EventType.TRANSACTION_COMPLETED)
    run(datetime.now(UTC))
    assert receiver.verified(old) and receiver.verified(new)
    # A rotation that happened 25 hours ago: its overlap is over.
    with step():
        endpoints.rotate(endpoint.id, datetime.now(UTC) - timedelta(hours=25))
    newest = health(endpoint.id).secret
    receiver.requests.clear()
    facts(EventType.TRANSACTION_FAILED)
    run(datetime.now(UTC))
    assert receiver.verified(newest)
    with pytest.raises(WebhookVerificationError):
        receiver.verified(new)


def test_replay_resends_the_original_id_with_the_current_secret(endpoint, receiver):
    facts(EventType.TRANSACTION_COMPLETED)
    run(datetime.now(UTC))
    first_id = receiver.requests[0][0]["webhook-id"]
    with step():
        endpoints.rotate(endpoint.id, datetime.now(UTC) - timedelta(days=2))
    current = health(endpoint.id).secret
    receiver.answer(500)
    results = replay.replay(endpoint.id, event_id=first_id)
    assert [(event, sent.status) for event, sent in results] == [(first_id, 500)]
    assert receiver.requests[-1][0]["webhook-id"] == first_id
    assert Webhook(current).verify(receiver.requests[-1][1], receiver.requests[-1][0])
    attempts = db.session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.endpoint_id == endpoint.id)
        .order_by(WebhookAttempt.id)
    ).all()
    assert [(a.replay, a.status_code) for a in attempts] == [(False, 204), (True, 500)]
    db.session.rollback()
    # A failed replay is not a failure of the endpoint.
    assert health(endpoint.id).failing_since is None


def test_replay_since_sends_the_endpoints_types_in_order(db_session, receiver):
    with step():
        only = endpoints.add(receiver.url, ["transaction.failed"]).id
    db.session.rollback()
    start = datetime.now(UTC)
    facts(EventType.TRANSACTION_COMPLETED, EventType.TRANSACTION_FAILED)
    facts(EventType.TRANSACTION_FAILED)
    results = replay.replay(only, since=start - timedelta(seconds=1))
    assert len(results) == 0  # the facts were written at T0, before ``start``
    results = replay.replay(only, since=T0)
    assert [sent.status for _, sent in results] == [204, 204]
    assert {json.loads(body)["type"] for _, body in receiver.requests} == {"transaction.failed"}


def test_production_refuses_loopback_and_private_endpoints(app, make_app):
    production_like = make_app(WEBHOOK_ALLOW_PRIVATE_URLS=False)
    with production_like.app_context():
        for url in ("http://127.0.0.1:9/x", "http://10.1.2.3/x", "http://localhost/x"):
            with pytest.raises(endpoints.EndpointRefused, match="non-public"):
                endpoints.add(url, None)
        with pytest.raises(endpoints.EndpointRefused, match="http"):
            endpoints.add("ftp://example.com/x", None)
    with pytest.raises(endpoints.EndpointRefused, match="unknown event type"):
        endpoints.parse_events("transaction.completed,transaction.exploded")
