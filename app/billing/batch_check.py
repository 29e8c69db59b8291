"""Settlement in batches: claim due transactions, ask Kaspi concurrently, settle each.

The sweep (``claim_batches``) leases due pending rows in one statement and hands
them out as batches of ids. A batch task (``check_batch``):

1. reads what it needs of its rows in one short step (plain values, no ORM rows);
2. outside any transaction, asks Kaspi about its payments concurrently over the
   provider client's pooled keep-alive sessions (one per thread of a
   per-process pool);
3. applies each answer in its own short step through
   ``reconcile.apply_provider_status``: the row lock, the status machine, the
   grant and the audit entry, exactly as a single check does. A row still
   pending is rescheduled from the moment Kaspi was asked: never sooner than the
   payment's ``poll_interval_s`` (Kaspi's StatusPollingInterval), the floor
   between two checks of one payment.

Nothing here weakens a guarantee: settling is idempotent and serialised on the
transaction's row lock, so a batch that runs twice (redelivered after a crash)
or overlaps a manual settle grants once. A batch lost with its worker comes due
again when the lease ends.

With ``SETTLE_CONCURRENCY`` > 1 (the default), steps 2 and 3 run per transaction
in that many threads, each with its own app context, session and connection:
ask Kaspi, then settle in a step. A settle mostly waits on round trips, so a few
in flight use PostgreSQL and Kaspi far better than one after another. The
transactions of a batch are distinct rows; each thread takes its locks in the
usual order, so threads can only queue on a shared club subscription, never
deadlock. With 1, the batch asks Kaspi (``KASPI_CONCURRENCY`` calls in flight)
and then settles one transaction after another.
"""

from __future__ import annotations

import contextvars
import logging
import os
import threading
import uuid
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import select, update

from app import locking
from app.billing import reconcile
from app.billing.kaspi_client import KaspiClient, PaymentProvider, PaymentStatus, ProviderError
from app.billing.models import Transaction
from app.billing.transitions import Source, TxStatus
from app.db import outside_transaction, step
from app.extensions import db
from app.observability import metrics
from app.observability.celery_hooks import transaction_context

log = logging.getLogger(__name__)

_pool_lock = threading.Lock()
# The process's pool, by pid: a forked Celery child builds its own.
_pools: dict[int, ThreadPoolExecutor] = {}


@dataclass(frozen=True)
class Due:
    id: uuid.UUID
    payment_id: str | None  # None: the link was never stored (crash recovery)
    poll_attempts: int
    poll_interval_s: int


def claim_batches(now: datetime) -> list[list[uuid.UUID]]:
    """Lease due pending transactions (one statement) and split them into batches."""
    cfg = current_app.config
    lease_until = now + timedelta(seconds=cfg["POLL_CLAIM_LEASE_S"])
    claimed = locking.claim_due_pending(now, cfg["SWEEP_CLAIM_LIMIT"], lease_until)
    for row in claimed:
        metrics.SWEEP_LAG.observe(max(0.0, (now - row.due_at).total_seconds()))
    size = max(1, cfg["CHECK_BATCH_SIZE"])
    ids = [row.id for row in claimed]
    return [ids[n : n + size] for n in range(0, len(ids), size)]


def check_batch(
    transaction_ids: Sequence[uuid.UUID], *, source: Source = Source.WORKER
) -> dict[str, int]:
    """Check and settle a batch; answers how many ended how (``{"completed": 18, ...}``)."""
    outcomes: Counter[str] = Counter()
    with step():
        rows = db.session.execute(
            select(
                Transaction.id,
                Transaction.status,
                Transaction.provider_payment_id,
                Transaction.poll_attempts,
                Transaction.poll_interval_s,
            ).where(Transaction.id.in_(list(transaction_ids)))
        ).all()
    due = []
    for row in rows:
        if row.status != TxStatus.PENDING:
            outcomes["not_pending"] += 1
        else:
            due.append(Due(row.id, row.provider_payment_id, row.poll_attempts, row.poll_interval_s))
    outcomes["not_found"] += len(transaction_ids) - len(rows)

    # A row without a payment link is the rare crash-recovery path: one at a time.
    for item in [d for d in due if d.payment_id is None]:
        outcomes[reconcile.reconcile(item.id, source=source)] += 1
    linked = [(d, payment_id) for d in due if (payment_id := d.payment_id) is not None]
    if not linked:
        return _plain(outcomes)

    outside_transaction()
    if current_app.config["SETTLE_CONCURRENCY"] > 1 and len(linked) > 1:
        # Each thread asks Kaspi about one payment and settles it in a step of its
        # own, on its own session and connection: a settle mostly waits on round
        # trips, so several in flight keep PostgreSQL and Kaspi busy.
        # Type-check exemption: Flask's type of current_app lacks the proxy's _get_current_object.
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        # Each call runs in a copy of the task's log context (task id, name): threads
        # of a pool do not inherit contextvars by themselves.
        for outcome in _executor().map(
            lambda pair: contextvars.copy_context().run(_check_one, app, pair[0], pair[1], source),
            linked,
        ):
            outcomes[outcome] += 1
        return _plain(outcomes)
    asked_at = datetime.now(UTC)
    answers = _ask_all([payment_id for _, payment_id in linked])
    for (item, _), answer in zip(linked, answers, strict=True):
        outcomes[_apply(item, answer, asked_at, source)] += 1
    return _plain(outcomes)


def _check_one(app: Flask, item: Due, payment_id: str, source: Source) -> str:
    with app.app_context():
        outside_transaction()
        asked_at = datetime.now(UTC)
        return _apply(item, _ask(_poll_provider(), payment_id), asked_at, source)


def _apply(item: Due, answer: PaymentStatus | Exception, asked_at: datetime, source: Source) -> str:
    try:
        with transaction_context(item.id), step():
            if isinstance(answer, Exception):
                outcome = "unavailable"
            else:
                outcome = reconcile.apply_provider_status(
                    item.id, answer, asked_at=asked_at, source=source
                )
            if outcome in ("waiting", "unavailable"):
                _reschedule(item, asked_at)
            return outcome
    except Exception:
        # One bad row must not stop the batch; its lease brings it back.
        log.exception("applying Kaspi's answer for transaction %s failed", item.id)
        return "error"


def _reschedule(item: Due, asked_at: datetime) -> None:
    """Next check: the backoff, but never sooner than Kaspi's polling interval."""
    delay = max(
        reconcile.next_poll_delay(item.poll_attempts), timedelta(seconds=item.poll_interval_s)
    )
    db.session.execute(
        update(Transaction)
        .where(Transaction.id == item.id, Transaction.status == TxStatus.PENDING)
        .values(next_poll_at=asked_at + delay)
        .execution_options(synchronize_session=False)
    )


def _ask(provider: PaymentProvider, payment_id: str) -> PaymentStatus | Exception:
    try:
        return provider.get_status(payment_id)
    except ProviderError as exc:
        log.warning("kaspi status of %s failed: %s", payment_id, exc)
        return exc


def _poll_provider() -> PaymentProvider:
    """The provider client the poller asks, with its shorter read timeout (one per process)."""
    ext = current_app.extensions
    if "poll_provider" not in ext:
        config = dict(current_app.config)
        config["KASPI_TIMEOUT_S"] = config["KASPI_POLL_TIMEOUT_S"]
        ext["poll_provider"] = KaspiClient.from_config(config)
    provider: PaymentProvider = ext["poll_provider"]
    return provider


def _ask_all(payment_ids: list[str]) -> list[PaymentStatus | Exception]:
    provider = _poll_provider()
    if len(payment_ids) == 1:
        return [_ask(provider, payment_ids[0])]
    return list(_executor().map(lambda payment_id: _ask(provider, payment_id), payment_ids))


def _executor() -> ThreadPoolExecutor:
    with _pool_lock:
        pool = _pools.get(os.getpid())
        if pool is None:
            cfg = current_app.config
            workers = max(1, int(cfg["KASPI_CONCURRENCY"]), int(cfg["SETTLE_CONCURRENCY"]))
            pool = _pools[os.getpid()] = ThreadPoolExecutor(workers, thread_name_prefix="check")
        return pool


def _plain(outcomes: Counter[str]) -> dict[str, int]:
    return {name: count for name, count in sorted(outcomes.items()) if count}
