"""Settlement by hand (dev endpoint, CLI), through the status machine like everything else."""

from __future__ import annotations

import uuid

from celery import uuid as celery_uuid

from app.billing import status as sm
from app.billing.models import Transaction
from app.billing.settlement import settle
from app.db import after_commit
from app.errors import ApiError

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
    """Send the settle task once this request commits; the id is known up front."""
    from app.billing.tasks import settle_transaction

    task_id = celery_uuid()
    after_commit(
        lambda: settle_transaction.apply_async(
            args=[str(transaction_id), outcome, source], task_id=task_id
        )
    )
    return task_id
