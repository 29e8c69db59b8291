"""Settlement in batches: claim due transactions, ask Kaspi concurrently, settle each.

The sweep (``claim_batches``) leases due pending rows in one statement and hands
them out as batches of ids. A batch task (``check_batch``):

1. reads what it needs of its rows in one short step (plain values, no ORM rows),
   the creating requests' ids for its log lines among them;
2. outside any transaction, asks Kaspi about all its payments at once
   (``KASPI_CONCURRENCY`` calls in flight over the provider client's pooled
   keep-alive connections);
3. applies each answer on its own. The common answers are one statement sent
   alone each (``_apply_alone``), committed as it returns:
   - a payment still open (or Kaspi silent): a conditional UPDATE that
     reschedules the check, from the moment Kaspi was asked and never sooner
     than the payment's ``poll_interval_s`` (Kaspi's StatusPollingInterval, the
     floor between two checks of one payment);
   - a paid credit purchase whose answer matches its terms (read in step 1;
     they never change): ``settlement.complete_credit_purchase``, a conditional
     UPDATE from pending, the audit entry and the grants.
   Anything else (a decline, an expiry, a mismatch for review, a club plan)
   takes a short step through ``reconcile.apply_provider_status``: the row
   lock, the status machine, the grant and the audit entry, exactly as a single
   check does.

Step 3 runs on the task's own thread, one transaction after another. Settling
in several threads of one process was measured slower (benchmarks/, the
settle section): the threads' short CPU bursts between round trips queue on
the interpreter lock, and each statement then waited 4-10 ms instead of 0.4.
More throughput comes from more worker processes, not threads.

Nothing here weakens a guarantee: settling is idempotent and serialised on the
transaction's row lock (the one-statement path's UPDATE takes it too, and
changes nothing unless the row is still pending), so a batch that runs twice
(redelivered after a crash) or overlaps a manual settle grants once. A batch
lost with its worker comes due again when the lease ends.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from flask import current_app
from sqlalchemy import Connection, CursorResult, select, update
from sqlalchemy.orm import scoped_session

from app.billing.core import locks
from app.billing.core.models import Transaction
from app.billing.core.notify import batched_notices
from app.billing.core.status import Source, TxStatus
from app.billing.kaspi.client import KaspiClient, PaymentProvider, PaymentStatus, ProviderError
from app.billing.settle import reconcile, settlement, verify
from app.catalog.services import sold_product
from app.db import outside_transaction, step, write_alone
from app.extensions import db
from app.observability import metrics
from app.observability.context import transaction_context

log = logging.getLogger(__name__)

_pool_lock = threading.Lock()
# The process's pool, by pid: a forked Celery child builds its own.
_pools: dict[int, ThreadPoolExecutor] = {}


@dataclass(frozen=True)
class Due:
    id: uuid.UUID
    provider_payment_id: str | None  # None: the link was never stored (crash recovery)
    poll_attempts: int
    poll_interval_s: int
    # What the intent wrote and nothing changes: the terms an answer is checked
    # against and what a paid credit purchase grants (settlement.PaidTerms).
    product_code: str
    quantity: int
    amount: Decimal
    currency: str
    created_at: datetime
    # Whether a still-open payment can no longer be paid (reconcile.provider_link_closed).
    expires_at: datetime
    provider_expires_at: datetime | None
    # The purchase request that created the row, for the log lines about it.
    origin_request_id: str | None


_DUE_FIELDS = tuple(Due.__dataclass_fields__)


def claim_batches(now: datetime) -> list[list[uuid.UUID]]:
    """Lease due pending transactions (one statement) and split them into batches."""
    cfg = current_app.config
    lease_until = now + timedelta(seconds=cfg["POLL_CLAIM_LEASE_S"])
    claimed = locks.claim_due_pending(now, cfg["SWEEP_CLAIM_LIMIT"], lease_until)
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
                Transaction.status,
                *(getattr(Transaction, name) for name in _DUE_FIELDS),
            ).where(Transaction.id.in_(list(transaction_ids)))
        ).all()
    due = []
    for row in rows:
        if row.status != TxStatus.PENDING:
            outcomes["not_pending"] += 1
        else:
            due.append(Due(*row[1:]))
    outcomes["not_found"] += len(transaction_ids) - len(rows)

    # A row without a payment link is the rare crash-recovery path: one at a time.
    for item in [d for d in due if d.provider_payment_id is None]:
        outcomes[reconcile.reconcile(item.id, source=source)] += 1
    linked = [(d, payment_id) for d in due if (payment_id := d.provider_payment_id) is not None]
    if not linked:
        return _plain(outcomes)

    outside_transaction()
    asked_at = datetime.now(UTC)
    answers = _ask_all([payment_id for _, payment_id in linked])
    with batched_notices():
        for (item, _), answer in zip(linked, answers, strict=True):
            outcomes[_apply(item, answer, asked_at, source)] += 1
    return _plain(outcomes)


def _apply(
    item: Due,
    answer: PaymentStatus | Exception,
    asked_at: datetime,
    source: Source,
) -> str:
    try:
        with transaction_context(item.id, item.origin_request_id):
            if isinstance(answer, Exception):  # Kaspi silent: only the next check moves
                _reschedule_alone(item, asked_at)
                return "unavailable"
            alone = _apply_alone(item, answer, asked_at, source)
            if alone is not None:
                return alone
            with step():
                outcome = reconcile.apply_provider_status(
                    item.id, answer, asked_at=asked_at, source=source
                )
                if outcome == "waiting":
                    _reschedule(db.session, item, asked_at)
                return outcome
    except Exception:
        # One bad row must not stop the batch; its lease brings it back.
        log.exception("applying Kaspi's answer for transaction %s failed", item.id)
        return "error"


def _apply_alone(
    item: Due, answer: PaymentStatus, asked_at: datetime, source: Source
) -> str | None:
    """The common answers, each as one statement sent alone; None for the rest.

    A payment still open (the usual answer, until the buyer pays) only
    reschedules the check; a paid credit purchase that matches its terms settles.
    A decline, an expiry, a mismatch for review or a club plan answers None: the
    locked path decides it.
    """
    if answer.state == "processed":
        return "completed" if _settle_paid_alone(item, answer, source) else None
    if answer.state == "error":
        return None
    provider_expires_at = answer.expires_at or item.provider_expires_at
    if reconcile.provider_link_closed(provider_expires_at, item.expires_at, asked_at):
        return None
    return "waiting" if _reschedule_alone(item, asked_at, answer.expires_at) else "not_pending"


def _settle_paid_alone(item: Due, answer: PaymentStatus, source: Source) -> bool:
    """The common case in one statement: a paid credit purchase whose answer matches.

    Anything else (a mismatch for review, a club plan, a row that left pending
    meanwhile) answers False and takes the locked path, which decides it.
    """
    if verify.mismatch(item, answer) is not None:
        return False
    now = datetime.now(UTC)
    with write_alone() as conn:
        # Inside: a cold catalog cache reads the catalog, and the block ends that read.
        product = sold_product(item.product_code)
        if product is None or product.type != "credit":
            return False
        result = settlement.complete_credit_purchase(
            conn,
            item,
            product.code,
            source=source,
            provider_status=answer.provider_status,
            provider_transaction_id=answer.provider_transaction_id,
            provider_amount=answer.amount,
            now=now,
        )
    if result.changed:
        settlement.completion_committed(item, source=source, now=now)
    return result.changed


def _reschedule(
    executor: Connection | scoped_session[Any],
    item: Due,
    asked_at: datetime,
    provider_expires_at: datetime | None = None,
) -> bool:
    """Next check: the backoff, but never sooner than Kaspi's polling interval; and
    Kaspi's ExpireDate when it moved it. Answers whether the row was still pending."""
    delay = max(
        reconcile.next_poll_delay(item.poll_attempts), timedelta(seconds=item.poll_interval_s)
    )
    values: dict[str, Any] = {"next_poll_at": asked_at + delay}
    if provider_expires_at is not None:
        values["provider_expires_at"] = provider_expires_at
    result = executor.execute(
        update(Transaction)
        .where(Transaction.id == item.id, Transaction.status == TxStatus.PENDING)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(cast(CursorResult[Any], result).rowcount)


def _reschedule_alone(
    item: Due, asked_at: datetime, provider_expires_at: datetime | None = None
) -> bool:
    with write_alone() as conn:
        return _reschedule(conn, item, asked_at, provider_expires_at)


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
            workers = max(1, int(cfg["KASPI_CONCURRENCY"]))
            pool = _pools[os.getpid()] = ThreadPoolExecutor(workers, thread_name_prefix="check")
        return pool


def _plain(outcomes: Counter[str]) -> dict[str, int]:
    return {name: count for name, count in sorted(outcomes.items()) if count}
