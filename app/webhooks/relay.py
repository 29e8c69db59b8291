"""The relay: claim due deliveries, POST them outside any transaction, record the answers.

At least once: a delivery is leased in one step, sent between steps and recorded
in another; a relay killed in between leaves the lease, which runs out
(``WEBHOOK_LEASE_S``) and the delivery is claimed again with the same
``webhook-id``. In order: the claim never takes event n+1 of an (endpoint,
ordering key) while n is pending (:mod:`app.webhooks.locks`).

Every function takes ``now``: retries hours apart are tested on a clock the test
holds, not in sleeps.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import select

from app.db import after_commit, between_steps, step
from app.extensions import db
from app.observability import metrics
from app.request_locals import flask_app
from app.webhooks import locks, payload, signing
from app.webhooks.models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.webhooks.sender import Sent, post
from app.webhooks.states import DeliveryState, move_delivery
from app.webhooks.wake import relay_started

log = logging.getLogger(__name__)

# The longest Retry-After honoured: the schedule's longest wait.
MOST_RETRY_AFTER_S = 24 * 3600.0
JITTER = 0.1  # each wait is drawn within ±10 % of the schedule's


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    endpoint_id: str
    url: str
    event_id: str
    event_type: str
    body: bytes
    secrets: list[str]


@dataclass(frozen=True)
class Recorded:
    delivery_id: int
    outcome: str  # delivered | retry | dead | gone | stale


def claim(now: datetime, *, limit: int) -> list[Claimed]:
    """Lease due deliveries and read what sending them needs (the caller's step)."""
    lease_end = now + timedelta(seconds=current_app.config["WEBHOOK_LEASE_S"])
    ids = locks.claim_due(now, lease_end, limit)
    if not ids:
        return []
    rows = db.session.execute(
        select(WebhookDelivery, OutboxEvent, WebhookEndpoint)
        .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.id.in_(ids))
        .order_by(WebhookDelivery.id)
    ).all()
    return [_claimed(delivery, event, endpoint, now) for delivery, event, endpoint in rows]


def _claimed(
    delivery: WebhookDelivery, event: OutboxEvent, endpoint: WebhookEndpoint, now: datetime
) -> Claimed:
    secrets = signing.live_secrets(
        endpoint.secret, endpoint.previous_secret, endpoint.previous_secret_until, now
    )
    return Claimed(
        delivery.id, endpoint.id, endpoint.url, event.id, event.type, payload.body(event), secrets
    )


def send(claimed: Claimed, *, timestamp: int | None = None) -> Sent:
    """POST one event (no transaction may be open: the receiver may take 15 s)."""
    between_steps()
    config = current_app.config
    moment = int(time.time()) if timestamp is None else timestamp
    headers = signing.headers(claimed.event_id, moment, claimed.body, claimed.secrets)
    sent = post(
        claimed.url,
        claimed.body,
        headers,
        timeout_s=config["WEBHOOK_TIMEOUT_S"],
        allow_private=config["WEBHOOK_ALLOW_PRIVATE_URLS"],
    )
    metrics.WEBHOOK_LATENCY.observe(sent.latency_ms / 1000)
    return sent


def record(answers: list[tuple[Claimed, Sent]], now: datetime) -> list[Recorded]:
    """Record the attempts of a claimed round (the caller's step): two locking reads
    and one write of each kind, however many there are."""
    deliveries = locks.lock_deliveries([claimed.delivery_id for claimed, _ in answers])
    endpoints = locks.lock_endpoints(sorted({claimed.endpoint_id for claimed, _ in answers}))
    db.session.add_all([attempt_row(claimed, sent, now, replay=False) for claimed, sent in answers])
    recorded = []
    for claimed, sent in answers:
        delivery = deliveries.get(claimed.delivery_id)
        if delivery is None or delivery.state != DeliveryState.PENDING:
            # Delivered by a relay that claimed it again after this one's lease ran out.
            recorded.append(Recorded(claimed.delivery_id, "stale"))
            continue
        delivery.attempts += 1
        delivery.leased_until = None
        delivery.last_status_code = sent.status
        delivery.last_error = sent.error
        recorded.append(
            Recorded(delivery.id, _outcome(delivery, endpoints.get(claimed.endpoint_id), sent, now))
        )
    after_commit(lambda: _count(recorded))
    return recorded


def _count(recorded: list[Recorded]) -> None:
    for item in recorded:
        metrics.WEBHOOK_DELIVERIES.labels(item.outcome).inc()


def _outcome(
    delivery: WebhookDelivery, endpoint: WebhookEndpoint | None, sent: Sent, now: datetime
) -> str:
    if sent.delivered:
        move_delivery(delivery, DeliveryState.DELIVERED, now=now)
        if endpoint is not None:
            endpoint.failing_since = None
        return "delivered"
    if endpoint is not None and sent.status == 410:
        _disable(endpoint, now, "410 Gone: the receiver asked for no more deliveries")
        return "gone"  # the delivery waits, in order, for the endpoint to be enabled
    schedule = current_app.config["WEBHOOK_RETRY_SCHEDULE_S"]
    if delivery.attempts > len(schedule):
        move_delivery(delivery, DeliveryState.DEAD, now=now)
        log.error(
            "webhook %s to endpoint %s is dead after %d attempts (last: %s)",
            delivery.event_id,
            delivery.endpoint_id,
            delivery.attempts,
            sent.error,
        )
        outcome = "dead"
    else:
        delivery.next_attempt_at = now + timedelta(seconds=_wait(delivery.attempts, sent))
        outcome = "retry"
    if endpoint is not None:
        _count_failure(endpoint, now)
    return outcome


def _wait(attempts: int, sent: Sent) -> float:
    """Seconds until the next attempt: the receiver's Retry-After on 429 and 503,
    otherwise the schedule's wait after this many attempts, with jitter."""
    if sent.status in (429, 503) and sent.retry_after_s is not None:
        return min(max(sent.retry_after_s, 1.0), MOST_RETRY_AFTER_S)
    wait = float(current_app.config["WEBHOOK_RETRY_SCHEDULE_S"][attempts - 1])
    return wait * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311 (jitter, not a secret)


def _count_failure(endpoint: WebhookEndpoint, now: datetime) -> None:
    if endpoint.failing_since is None:
        endpoint.failing_since = now
        return
    limit = timedelta(seconds=current_app.config["WEBHOOK_DISABLE_AFTER_S"])
    if endpoint.disabled_at is None and now - endpoint.failing_since >= limit:
        _disable(endpoint, now, f"failing since {endpoint.failing_since.isoformat()}")


def _disable(endpoint: WebhookEndpoint, now: datetime, reason: str) -> None:
    if endpoint.disabled_at is not None:
        return
    endpoint.disabled_at = now
    endpoint.disabled_reason = reason
    label = "gone" if reason.startswith("410") else "failing"
    log.error("webhook endpoint %s (%s) disabled: %s", endpoint.id, endpoint.url, reason)
    after_commit(lambda: metrics.WEBHOOK_ENDPOINTS_DISABLED.labels(label).inc())


def attempt_row(claimed: Claimed, sent: Sent, now: datetime, *, replay: bool) -> WebhookAttempt:
    outcome = "delivered" if sent.delivered else "failed"
    return WebhookAttempt(
        endpoint_id=claimed.endpoint_id,
        event_id=claimed.event_id,
        replay=replay,
        status_code=sent.status,
        latency_ms=sent.latency_ms,
        error=sent.error,
        outcome=outcome,
        attempted_at=now,
    )


def relay(clock: Callable[[], datetime] | None = None) -> int:
    """Deliver what is due until nothing is or the budget (``WEBHOOK_RELAY_BUDGET_S``)
    is spent; answers how many attempts were made. Each round sends one event per
    (endpoint, ordering key) at most, concurrently, then records them."""
    now_of = clock or (lambda: datetime.now(UTC))
    config = current_app.config
    relay_started()
    deadline = time.monotonic() + config["WEBHOOK_RELAY_BUDGET_S"]
    made = 0
    with ThreadPoolExecutor(config["WEBHOOK_CONCURRENCY"], "webhook") as pool:
        while time.monotonic() < deadline:
            with step():
                claimed = claim(now_of(), limit=config["WEBHOOK_RELAY_BATCH"])
            if not claimed:
                break
            # Threads only send: the answers are recorded on this thread, in one step.
            answers = list(pool.map(_send_in_context(flask_app()), claimed))
            with step():
                record(list(zip(claimed, answers, strict=True)), now_of())
            made += len(claimed)
    return made


def _send_in_context(app: Flask) -> Callable[[Claimed], Sent]:
    def run(claimed: Claimed) -> Sent:
        with app.app_context():
            return send(claimed)

    return run
