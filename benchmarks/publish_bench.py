"""A 40-way publish race by one owner against the real API (gunicorn wsgi:app).

Each round: a fresh owner with one available credit and 40 draft events that
each need it; 40 threads publish them at once with ``?confirm_credit=1``. Exactly
one may consume the credit and publish; the rest answer 402. Latency is each
request's wall time; p99 is over every request of every round.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import requests
from sqlalchemy import func, select

from app.auth.models import User
from app.auth.tokens import issue_token
from app.billing.core.models import Credit, Transaction
from app.events.models import Event
from app.extensions import db
from benchmarks import servers
from benchmarks.load import _percentile
from benchmarks.report import say
from benchmarks.stack import JWT_SECRET, Stack

RACERS = 40
API_WORKERS = 4
PARTICIPANTS = 100  # above the free plan's limit, under the upgrade's ceiling


def _seed_round(stack: Stack) -> tuple[str, list[uuid.UUID]]:
    owner = f"bench-racer-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    with stack.app.app_context():
        db.session.add(User(id=owner))
        tx = Transaction(
            id=uuid.uuid4(),
            user_id=owner,
            product_code="EVENT_UPGRADE_500",
            quantity=1,
            amount=Decimal("1000.00"),
            currency="KZT",
            status="completed",
            provider="kaspi",
            provider_payment_id=f"bench-{uuid.uuid4().hex}",
            expires_at=now + timedelta(hours=1),
            settled_at=now,
        )
        db.session.add(tx)
        db.session.flush()
        db.session.add(
            Credit(
                user_id=owner,
                credit_code="EVENT_UPGRADE_500",
                source_transaction_id=tx.id,
                sequence=1,
                status="available",
            )
        )
        events = [
            Event(owner_id=owner, title=f"Race {n}", max_participants=PARTICIPANTS)
            for n in range(RACERS)
        ]
        db.session.add_all(events)
        db.session.flush()
        ids = [event.id for event in events]
        db.session.commit()
    return owner, ids


def _consumed(stack: Stack, owner: str) -> int:
    with stack.app.app_context():
        count = db.session.scalar(
            select(func.count())
            .select_from(Credit)
            .where(Credit.user_id == owner, Credit.status == "consumed")
        )
        db.session.rollback()
    return count


def run(stack: Stack, rounds: int) -> dict:
    latencies: list[float] = []
    consumed: list[int] = []
    statuses: dict[int, int] = {}
    with ExitStack() as procs:
        base, _ = servers.start_gunicorn(procs, "bench-api", "wsgi:app", stack.env, API_WORKERS)
        for _ in range(rounds):
            owner, ids = _seed_round(stack)
            headers = {"Authorization": f"Bearer {issue_token(JWT_SECRET, owner, 3600)}"}
            start = threading.Barrier(RACERS)

            def publish(
                event_id: uuid.UUID,
                headers: dict[str, str] = headers,
                start: threading.Barrier = start,
            ) -> tuple[int, float]:
                with requests.Session() as session:
                    session.get(base + "/healthz", timeout=10)  # connect before the race
                    start.wait()
                    began = time.perf_counter()
                    response = session.post(
                        f"{base}/api/events/{event_id}/publish?confirm_credit=1",
                        headers=headers,
                        timeout=30,
                    )
                    return response.status_code, time.perf_counter() - began

            with ThreadPoolExecutor(RACERS) as pool:
                answers = list(pool.map(publish, ids))
            for code, seconds in answers:
                statuses[code] = statuses.get(code, 0) + 1
                latencies.append(seconds)
            consumed.append(_consumed(stack, owner))
    latencies.sort()
    p50 = _percentile(latencies, 0.50) * 1000
    p99 = _percentile(latencies, 0.99) * 1000
    say(
        f"  {rounds} rounds x {RACERS} publishes by one owner (gunicorn --workers {API_WORKERS}):"
        f" p50 {p50:.0f} ms  p99 {p99:.0f} ms  statuses {dict(sorted(statuses.items()))}  "
        f"credits consumed per round {consumed}"
    )
    return {
        "publish_race_p50_ms": p50,
        "publish_race_p99_ms": p99,
        # The worst round: exactly 1 is the only right answer.
        "publish_race_consumed": max(consumed) if len(set(consumed)) == 1 else consumed,
        "publish_race_rounds": rounds,
        "publish_race_published": statuses.get(200, 0),
    }
