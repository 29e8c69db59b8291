"""Settlement in batches: claim due transactions, ask Kaspi concurrently, settle each.

The sweep (``schedule.claim_batches``) leases due pending rows in one statement
and hands them out as batches of ids. A batch task (:func:`check_batch`):

1. reads what it needs of its rows in one short step (plain values, no ORM rows),
   the creating requests' ids for its log lines among them;
2. outside any transaction, asks Kaspi about all its payments at once
   (``KASPI_CONCURRENCY`` calls in flight over the provider client's pooled
   keep-alive connections);
3. applies each answer on its own (``answer.apply_answer``: the common answers
   are one statement each, the rest a short step under the row lock).

Step 3 runs on the task's own thread, one transaction after another: settling in
several threads of one process was measured slower (docs/PERFORMANCE.md, "Figures
behind the code's design choices"), as the
threads' short CPU bursts between round trips queue on the interpreter lock.
More throughput comes from more worker processes, not threads.

A batch that runs twice (redelivered after a crash) or overlaps a manual settle
grants once: settling is idempotent and serialised on the transaction's row
lock. A batch lost with its worker comes due again when the lease ends.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from flask import current_app

from app.billing.core.notify import batched_notices
from app.billing.core.status import Source, TxStatus
from app.billing.kaspi.client import PaymentProvider, PaymentStatus, ProviderError
from app.billing.kaspi.provider import get_poll_provider
from app.billing.settle import answer, reconcile
from app.billing.settle.outcome import Outcome
from app.db import between_steps, step
from app.observability.context import transaction_log_context

log = logging.getLogger(__name__)

_pool_lock = threading.Lock()
# The process's pool, by pid: a forked Celery child builds its own.
_pools: dict[int, ThreadPoolExecutor] = {}


def check_batch(
    transaction_ids: Sequence[uuid.UUID], *, source: Source = Source.WORKER
) -> dict[str, int]:
    """Check and settle a batch; answers how many ended how (``{"completed": 18, ...}``)."""
    outcomes: Counter[str] = Counter()
    with step():
        rows = answer.read_due(transaction_ids)
    due = []
    for row in rows:
        if row.status != TxStatus.PENDING:
            outcomes[Outcome.NOT_PENDING] += 1
        else:
            due.append(row)
    outcomes[Outcome.NOT_FOUND] += len(transaction_ids) - len(rows)

    # A row without a payment link is the rare crash-recovery path: one at a time.
    for item in [d for d in due if d.provider_payment_id is None]:
        outcomes[reconcile.reconcile(item.terms.id, source=source)] += 1
    linked = [(d, payment_id) for d in due if (payment_id := d.provider_payment_id) is not None]
    if not linked:
        return _plain(outcomes)

    between_steps()
    asked_at = datetime.now(UTC)
    answers = _ask_all([payment_id for _, payment_id in linked])
    with batched_notices():
        for (item, _), reply in zip(linked, answers, strict=True):
            outcomes[_apply(item, reply, asked_at, source)] += 1
    return _plain(outcomes)


def _apply(
    item: answer.Due, reply: PaymentStatus | Exception, asked_at: datetime, source: Source
) -> Outcome:
    try:
        with transaction_log_context(item.terms.id, item.origin_request_id):
            if isinstance(reply, Exception):  # Kaspi silent: only the next check moves
                answer.reschedule_silent(item, asked_at)
                return Outcome.UNAVAILABLE
            return answer.apply_answer(item, reply, asked_at=asked_at, source=source)
    except Exception:
        # One bad row must not stop the batch; its lease brings it back.
        log.exception("applying Kaspi's answer for transaction %s failed", item.terms.id)
        return Outcome.ERROR


def _ask(provider: PaymentProvider, payment_id: str) -> PaymentStatus | Exception:
    try:
        return provider.get_status(payment_id)
    except ProviderError as exc:
        log.warning("kaspi status of %s failed: %s", payment_id, exc)
        return exc


def _ask_all(payment_ids: list[str]) -> list[PaymentStatus | Exception]:
    provider = get_poll_provider()
    if len(payment_ids) == 1:
        return [_ask(provider, payment_ids[0])]
    return list(_executor().map(lambda payment_id: _ask(provider, payment_id), payment_ids))


def _executor() -> ThreadPoolExecutor:
    with _pool_lock:
        pool = _pools.get(os.getpid())
        if pool is None:
            workers = max(1, int(current_app.config["KASPI_CONCURRENCY"]))
            pool = _pools[os.getpid()] = ThreadPoolExecutor(workers, thread_name_prefix="check")
        return pool


def _plain(outcomes: Counter[str]) -> dict[str, int]:
    return {str(name): count for name, count in sorted(outcomes.items()) if count}
