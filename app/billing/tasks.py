"""Celery tasks for billing. Thin: each calls a service; the task base commits.

Arguments are ids (JSON), never ORM objects. Follow-up tasks are sent with
``after_commit`` so a worker never receives an id whose row is not committed.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from celery import Task, shared_task
from celery import uuid as celery_uuid
from sqlalchemy import exc as sa_exc

from app.billing.core.status import IllegalTransition, Source
from app.billing.fiscal import issue as fiscal_issue
from app.billing.kaspi.client import ProviderUnavailable
from app.billing.purchase import idempotency, withdraw
from app.billing.refund import sequence
from app.billing.settle import batch_check, late, manual, reconcile, schedule
from app.db import after_commit, between_steps
from app.domain_errors import NotFound, Unavailable

log = logging.getLogger(__name__)


def enqueue_check(transaction_id: uuid.UUID) -> None:
    after_commit(lambda: check_transaction.delay(str(transaction_id)))


def enqueue_batch(transaction_ids: list[uuid.UUID]) -> None:
    ids = [str(transaction_id) for transaction_id in transaction_ids]
    after_commit(lambda: check_batch.delay(ids))


@shared_task(name="billing.poll_due_transactions")
def poll_due_transactions() -> int:
    """Beat: lease due pending transactions and send them as batches (after commit)."""
    batches = schedule.claim_batches(datetime.now(UTC))
    for ids in batches:
        enqueue_batch(ids)
    return sum(len(ids) for ids in batches)


@shared_task(name="billing.check_batch", multi_step=True)
def check_batch(transaction_ids: list[str]) -> dict[str, int]:
    """Ask Kaspi about a batch concurrently, then settle each in a step of its own."""
    return batch_check.check_batch([uuid.UUID(tx_id) for tx_id in transaction_ids])


@shared_task(name="billing.expire_stale_transactions")
def expire_stale_transactions() -> int:
    """Beat: pending transactions past their expiry get a final provider check."""
    ids = schedule.claim_stale(datetime.now(UTC))
    for transaction_id in ids:
        enqueue_check(transaction_id)
    return len(ids)


# Tasks that ask Kaspi between database steps of their own; an unreachable Kaspi is
# asked again with backoff (and the sweep finds the row again if every retry fails).
ASK_KASPI: dict[str, Any] = {
    "bind": True,
    "autoretry_for": (ProviderUnavailable,),
    "retry_backoff": 1,
    "retry_backoff_max": 30,
    "retry_jitter": True,
    "max_retries": 5,
    "multi_step": True,
}


@shared_task(name="billing.check_transaction", **ASK_KASPI)
def check_transaction(self: Task, transaction_id: str) -> str:
    return reconcile.reconcile(uuid.UUID(transaction_id))


@shared_task(name="billing.sweep_late_payments")
def sweep_late_payments() -> int:
    """Beat: closed-unpaid transactions within the policy window get asked about again."""
    ids = late.claim_late_candidates(datetime.now(UTC))
    for transaction_id in ids:
        _enqueue_late_check(transaction_id)
    return len(ids)


def _enqueue_late_check(transaction_id: uuid.UUID) -> None:
    after_commit(lambda: check_late_payment.delay(str(transaction_id)))


@shared_task(name="billing.check_late_payment", **ASK_KASPI)
def check_late_payment(self: Task, transaction_id: str) -> str:
    return late.check_late(uuid.UUID(transaction_id))


@shared_task(name="billing.sweep_unknown_refunds")
def sweep_unknown_refunds() -> int:
    """Beat: refunds Kaspi never answered get asked about again (held for review meanwhile)."""
    attempt_ids = sequence.unknown_attempts(datetime.now(UTC))
    for attempt_id in attempt_ids:
        _enqueue_refund_recheck(attempt_id)
    return len(attempt_ids)


def _enqueue_refund_recheck(attempt_id: int) -> None:
    after_commit(lambda: recheck_refund.delay(attempt_id))


@shared_task(name="billing.recheck_refund", **ASK_KASPI)
def recheck_refund(self: Task, attempt_id: int) -> str:
    return sequence.recheck_unknown(attempt_id)


@shared_task(name="billing.settle_transaction", ignore_result=False)
def settle_transaction(transaction_id: str, outcome: str, source: str = "dev") -> str:
    """Settle by hand (development): through the status machine like everything else."""
    try:
        return manual.settle_now(uuid.UUID(transaction_id), outcome, source=Source(source)).status
    except IllegalTransition as exc:
        return f"refused: {exc}"
    except NotFound:
        return "not_found"


def enqueue_settle(transaction_id: uuid.UUID, outcome: str, *, source: Source) -> str:
    """Send the settle task now and answer its id, or raise ``Unavailable``.

    Called outside any database transaction (the caller wrote nothing, so there is
    no commit to wait for). The send is synchronous and not retried, precisely so
    that a caller never answers "queued" for a task that did not leave.
    """
    between_steps()
    task_id: str = celery_uuid()
    try:
        settle_transaction.apply_async(
            args=[str(transaction_id), outcome, source.value], task_id=task_id, retry=False
        )
    except Exception as exc:
        log.error("settle task for %s could not be sent: %r", transaction_id, exc)
        raise Unavailable(
            "SERVICE_UNAVAILABLE",
            "The task queue is unavailable; nothing was queued, retry shortly",
            retry_after_s=5,
        ) from exc
    return task_id


@shared_task(
    name=withdraw.WITHDRAW_TASK,
    bind=True,
    # The database may still be away (PgBouncer restarting): tried again with backoff;
    # if every try fails, the poller's recovery closes the row with its voided payment.
    autoretry_for=(sa_exc.OperationalError, sa_exc.InterfaceError),
    retry_backoff=1,
    retry_backoff_max=30,
    retry_jitter=True,
    max_retries=8,
    multi_step=True,
)
def withdraw_intent(
    self: Task, transaction_id: str, payment_id: str | None, user_id: str, key: str | None
) -> str:
    """Close what a purchase intent refused for a lost connection left (its request
    could not): ``app.billing.purchase.withdraw``."""
    left = withdraw.Leftover(uuid.UUID(transaction_id), payment_id, user_id, key)
    return withdraw.withdraw_later(left)


@shared_task(name="billing.purge_idempotency_records")
def purge_idempotency_records() -> int:
    return idempotency.purge_expired(datetime.now(UTC))


# -- the fiscal worker (docs/FISCAL.md) --------------------------------------------------


@shared_task(name="fiscal.issue_receipts", multi_step=True)
def issue_receipts() -> dict[str, object]:
    """Owe, claim and issue due receipts (steps of its own; the register between them)."""
    result = fiscal_issue.sweep()
    return {"off": result.off, "owed": result.owed, "outcomes": result.outcomes}


@shared_task(name="fiscal.close_shift", multi_step=True)
def close_shift() -> str:
    """Close the register's shift (Z-report) before it has been open 24 hours."""
    return fiscal_issue.close_shift()
