"""Settlement by hand (dev endpoint, CLI), through the status machine like everything else."""

from __future__ import annotations

import logging
import uuid

from celery import uuid as celery_uuid

from app.billing import status as sm
from app.billing.models import Transaction
from app.billing.settlement import settle
from app.db import end_read
from app.errors import ApiError

log = logging.getLogger(__name__)

OUTCOMES = {"paid": sm.COMPLETED, "failed": sm.FAILED}


def settle_now(transaction_id: uuid.UUID, outcome: str, *, source: str) -> Transaction:
    try:
        result = settle(
            transaction_id, OUTCOMES[outcome], source=source, note=f"settled by hand ({source})"
        )
    except sm.IllegalTransition as exc:
        raise ApiError(409, "ILLEGAL_TRANSITION", str(exc), current_status=exc.current) from exc
    if result.transaction is None:
        raise ApiError(404, "TRANSACTION_NOT_FOUND", "Transaction not found")
    return result.transaction


def enqueue_settle(transaction_id: uuid.UUID, outcome: str, *, source: str) -> str:
    """Send the settle task now and answer its id, or 503 if the broker refused it.

    Nothing was written by the caller, so there is no commit to wait for; the send
    is synchronous (no retries) precisely so that a 202 is never answered for a
    task that did not leave. The read transaction ends first: no database
    transaction is held open across the broker call.
    """
    from app.billing.tasks import settle_transaction

    end_read()
    task_id = celery_uuid()
    try:
        settle_transaction.apply_async(
            args=[str(transaction_id), outcome, source], task_id=task_id, retry=False
        )
    except Exception as exc:
        log.error("settle task for %s could not be sent: %r", transaction_id, exc)
        raise ApiError(
            503,
            "SERVICE_UNAVAILABLE",
            "The task queue is unavailable; nothing was queued, retry shortly",
            headers={"Retry-After": "5"},
        ) from exc
    return task_id
