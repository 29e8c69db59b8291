"""Settle throughput: paid intents settled by one Celery worker + beat, against
PostgreSQL's floor: the same writes in raw SQL, one transaction per settle.

The worker side does everything production does: beat's claiming sweeps, the
batch tasks through Redis, a Kaspi status call per transaction over HTTP, then
the row lock, status change, credit grant and audit entry in a short step each.
"""

from __future__ import annotations

import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from sqlalchemy import func, select

from app.billing.core import status as sm
from app.billing.core.models import Credit, Transaction, TransactionEvent
from app.billing.kaspi.client import KaspiClient
from app.extensions import db
from benchmarks import seed, servers, worker_log
from benchmarks.report import ratio, say
from benchmarks.stack import Stack
from tests.support.processes import wait_until

POLL_EVERY_S = 0.2
WORKER_NAME = "bench-worker"
SETTLE_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class PaidBatch:
    ids: list[uuid.UUID]
    payment_ids: list[str]


@dataclass(frozen=True)
class WorkerRun:
    settled: int
    wall_s: float  # polled every POLL_EVERY_S: an upper bound by at most that much
    first_settled_s: float  # from the rows' settled_at: the first sweep's claim, its batch
    last_settled_s: float  # from the rows' settled_at: the exact end
    credits: int
    completed_events: int
    checks_claimed: int  # beat's claims (poll_attempts): >1 per tx means re-polls
    checks_run: worker_log.CheckTasks


def prepare_paid(stack: Stack, owners: list[str]) -> PaidBatch:
    """Pending rows, their stub payments, and the buyers' confirmations (untimed)."""
    ids = seed.insert_pending(stack.app, owners)
    started = time.perf_counter()
    payment_ids = seed.create_payments(stack.app, ids)
    created_s = time.perf_counter() - started
    started = time.perf_counter()
    seed.confirm_payments(stack.kaspi_url, payment_ids)
    confirmed_s = time.perf_counter() - started
    say(
        f"  setup: {len(ids)} pending rows; stub create-link {len(ids) / created_s:,.0f}/s, "
        f"confirm {len(ids) / confirmed_s:,.0f}/s ({seed.THREADS} threads)"
    )
    return PaidBatch(ids, payment_ids)


def stub_status_rate(kaspi_url: str, api_key: str, payment_ids: list[str]) -> float:
    """Sequential get_status calls: the floor one reconciliation's HTTP call sets."""
    client = KaspiClient(kaspi_url, api_key)
    try:
        client.get_status(payment_ids[0])  # connect before timing
        started = time.perf_counter()
        for payment_id in payment_ids:
            client.get_status(payment_id)
        return len(payment_ids) / (time.perf_counter() - started)
    finally:
        client.close()


FLOOR_SQL = (
    "SELECT user_id, quantity, product_code, status FROM transactions WHERE id = %s FOR UPDATE",
    "UPDATE transactions SET status = 'completed', settled_at = now(), updated_at = now(), "
    "next_poll_at = NULL WHERE id = %s",
    "INSERT INTO transaction_events (transaction_id, from_status, to_status, source, "
    "provider_status, created_at) "
    "VALUES (%s, 'pending', 'completed', 'worker', 'Processed', now())",
    "INSERT INTO billing_credits (id, user_id, credit_code, source_transaction_id, sequence, "
    "status, created_at) VALUES (%s, %s, %s, %s, 1, 'available', now()) "
    "ON CONFLICT ON CONSTRAINT uq_billing_credits_grant DO NOTHING",
)


# What settling writes to the outbox: transaction.completed (its own key) and
# credit.granted (the buyer's key), each with the next sequence of its key.
OUTBOX_FLOOR_SQL = (
    "INSERT INTO outbox_sequences (ordering_key, last_sequence) VALUES (%s, 1) "
    "ON CONFLICT (ordering_key) DO UPDATE SET last_sequence = outbox_sequences.last_sequence + 1 "
    "RETURNING last_sequence",
    "INSERT INTO outbox_events (id, type, ordering_key, sequence, data, created_at) "
    "VALUES (%s, %s, %s, %s, %s, now())",
)


def settle_floor(database_url: str, ids: list[uuid.UUID], *, outbox: bool = True) -> float:
    """PostgreSQL's floor: raw SQL, one transaction per settle, one connection, sequential.

    The same writes a settle makes (row lock, status, audit entry, credit grant, and
    with ``outbox`` its two outbox events), with no ORM, no provider call and no task
    queue. Answers settles per second.
    """
    select_sql, update_sql, event_sql, credit_sql = FLOOR_SQL
    sequence_sql, outbox_sql = OUTBOX_FLOOR_SQL
    data = '{"bench": true}'
    with psycopg.connect(_plain(database_url), autocommit=True) as conn:
        started = time.perf_counter()
        for tx_id in ids:
            with conn.transaction():
                user_id, _quantity, code, _status = conn.execute(select_sql, (tx_id,)).fetchone()
                conn.execute(update_sql, (tx_id,))
                conn.execute(event_sql, (tx_id,))
                conn.execute(credit_sql, (uuid.uuid4(), user_id, code, tx_id))
                if not outbox:
                    continue
                for kind, key in (
                    ("transaction.completed", f"transaction:{tx_id}"),
                    ("credit.granted", f"user:{user_id}"),
                ):
                    (sequence,) = conn.execute(sequence_sql, (key,)).fetchone()
                    conn.execute(outbox_sql, (f"msg_{uuid.uuid4().hex}", kind, key, sequence, data))
        return len(ids) / (time.perf_counter() - started)


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _completed(database_url: str, ids: list[uuid.UUID]) -> int:
    """How many of ``ids`` are completed: one array parameter, no ORM, so the
    benchmark's own polling takes next to no CPU from the worker it measures."""
    with psycopg.connect(_plain(database_url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM transactions WHERE id = ANY(%s) AND status = 'completed'",
            (ids,),
        ).fetchone()
    return int(row[0]) if row else 0


def _sweep_succeeded(log: Path, offset: int) -> bool:
    with log.open("rb") as fh:
        fh.seek(offset)
        return any(
            b"billing.poll_due_transactions[" in line and b"succeeded" in line for line in fh
        )


def settle_with_worker(stack: Stack, batch: PaidBatch) -> WorkerRun:
    ids = batch.ids
    log = worker_log.log_path(WORKER_NAME)
    log_offset = worker_log.size_of(log)
    with ExitStack() as procs:
        servers.start_worker_and_beat(procs, stack.env, stack.workdir, WORKER_NAME)
        # Start idle: both processes up and one sweep done before the clock starts.
        wait_until(
            lambda: _sweep_succeeded(log, log_offset),
            timeout=60,
            interval=0.2,
            message="celery worker and beat to run a sweep",
        )
        started_at = datetime.now(UTC)
        started = time.perf_counter()
        seed.make_due(stack.app, ids)
        while (done := _completed(stack.database_url, ids)) < len(ids):
            if time.perf_counter() - started > SETTLE_TIMEOUT_S:
                raise TimeoutError(f"only {done}/{len(ids)} settled in {SETTLE_TIMEOUT_S:.0f}s")
            time.sleep(POLL_EVERY_S)
        wall_s = time.perf_counter() - started
    with stack.app.app_context():
        first, last = db.session.execute(
            select(func.min(Transaction.settled_at), func.max(Transaction.settled_at)).where(
                Transaction.id.in_(ids)
            )
        ).one()
        credits = db.session.scalar(
            select(func.count()).select_from(Credit).where(Credit.source_transaction_id.in_(ids))
        )
        events = db.session.scalar(
            select(func.count())
            .select_from(TransactionEvent)
            .where(
                TransactionEvent.transaction_id.in_(ids),
                TransactionEvent.to_status == sm.TxStatus.COMPLETED,
            )
        )
        claims = db.session.scalar(
            select(func.sum(Transaction.poll_attempts)).where(Transaction.id.in_(ids))
        )
        db.session.rollback()
    return WorkerRun(
        done,
        wall_s,
        (first - started_at).total_seconds(),
        (last - started_at).total_seconds(),
        credits,
        events,
        int(claims or 0),
        worker_log.check_tasks(log, log_offset),
    )


def run(stack: Stack, worker_count: int, floor_count: int, owners: list[str], api_key: str) -> dict:
    floor_ids = seed.insert_pending(
        stack.app, [owners[n % len(owners)] for n in range(floor_count)]
    )
    half = len(floor_ids) // 2
    bare_floor = settle_floor(stack.database_url, floor_ids[:half], outbox=False)
    floor = settle_floor(stack.database_url, floor_ids[half:])
    say(
        f"  raw SQL floor, one transaction per settle, outbox writes included: {floor:,.0f} tx/s "
        f"({bare_floor:,.0f} without them), {half} tx each"
    )

    batch = prepare_paid(stack, [owners[n % len(owners)] for n in range(worker_count)])
    stub = stub_status_rate(stack.kaspi_url, api_key, batch.payment_ids[:200])
    say(f"  stub get_status, sequential, 200 calls: {stub:,.0f} calls/s")

    result = settle_with_worker(stack, batch)
    polled = result.settled / result.wall_s
    exact = result.settled / result.last_settled_s
    # Once settling has started: no wait for the first sweep in it.
    steady = (result.settled - 1) / max(result.last_settled_s - result.first_settled_s, 1e-6)
    say(
        f"  celery worker (concurrency 2) + beat: {result.settled} tx, wall {result.wall_s:.2f}s "
        f"(polled every {POLL_EVERY_S}s), first settled_at at {result.first_settled_s:.2f}s, "
        f"last at {result.last_settled_s:.2f}s"
    )
    say(
        f"  -> {exact:,.1f} tx/s by the last settled_at ({polled:,.1f} by polled wall time) = "
        f"{ratio(exact, floor):.2f}x the floor; credit rows {result.credits}; completed audit "
        f"entries {result.completed_events}; claims {result.checks_claimed} "
        f"({result.checks_claimed / result.settled:.2f} per tx)"
    )
    say(f"     {steady:,.1f} tx/s from the first settled_at to the last")
    checks = result.checks_run
    say(f"  check tasks the worker ran: {checks.total} {dict(checks.outcomes)}")
    return {
        "settle_tx_per_s": exact,
        "settle_floor_tx_per_s": floor,
        "settle_ratio": ratio(exact, floor),
        "settle_floor_without_outbox_tx_per_s": bare_floor,
        "settle_ratio_to_floor_without_outbox": ratio(exact, bare_floor),
        "settle_polled_tx_per_s": polled,
        "settle_first_settled_s": result.first_settled_s,
        "settle_steady_tx_per_s": steady,
        "settle_count": result.settled,
        "settle_credit_rows": result.credits,
        "settle_completed_events": result.completed_events,
        "settle_claims_per_tx": result.checks_claimed / result.settled,
        "settle_stub_status_calls_per_s": stub,
    }
