"""Development-only endpoints; registered only when BILLING_DEV_ENDPOINTS is on."""

from __future__ import annotations

from flask import Blueprint

from app.api import ExtraResponse, endpoint
from app.auth.services import current_user_id
from app.billing import tasks
from app.billing.core import queries
from app.billing.core.status import Source
from app.billing.schemas import (
    DevSettleIn,
    DevSettleQuery,
    DevSettleQueuedOut,
    TransactionStatusOut,
    status_out,
)
from app.billing.settle import manual
from app.db import step

bp = Blueprint("billing_dev", __name__, url_prefix="/api/dev/billing")


@bp.post("/settle")
@endpoint(
    summary="Development only: settle one of your transactions by hand",
    tags=("dev",),
    body=DevSettleIn,
    query=DevSettleQuery,
    response=DevSettleQueuedOut,
    status=202,
    errors={
        404: "No such transaction of yours",
        409: "The transaction cannot take that outcome",
        503: "The task queue refused the task: nothing was queued",
    },
    extra_responses={
        200: ExtraResponse("With ?wait=1: settled at once; the transaction", TransactionStatusOut)
    },
    # The task is sent synchronously after the ownership check's step, outside any
    # database transaction, so a refused send is a 503 rather than a false 202.
    multi_step=True,
)
def settle(
    body: DevSettleIn, query: DevSettleQuery
) -> tuple[TransactionStatusOut, int] | DevSettleQueuedOut:
    with step():
        queries.own_transaction(current_user_id(), body.transaction_id)
        if query.wait in ("1", "true"):
            tx = manual.settle_now(body.transaction_id, body.outcome, source=Source.DEV)
            return status_out(tx), 200
    task_id = tasks.enqueue_settle(body.transaction_id, body.outcome, source=Source.DEV)
    return DevSettleQueuedOut(task_id=task_id, transaction_id=body.transaction_id)
