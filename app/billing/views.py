from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from app.api import HeaderParam, endpoint
from app.auth.services import current_user_id, current_user_row
from app.billing.core import queries
from app.billing.fiscal.queries import receipts_of
from app.billing.purchase import cancel, idempotency
from app.billing.purchase.history import HistoryPageOut, HistoryQuery, history_page
from app.billing.purchase.intents import create_purchase_intent
from app.billing.schemas import (
    CancelOut,
    CreditsOut,
    PurchaseIntentIn,
    PurchaseIntentOut,
    StatusQuery,
    TransactionDetailOut,
    TransactionStatusOut,
    cancel_out,
    credit_out,
    status_out,
)
from app.billing.stream import stream
from app.errors import uuid_or_404

bp = Blueprint("billing", __name__, url_prefix="/api/billing")
bp.after_request(stream.allow_stream_origin)


@bp.post("/purchase-intent")
@endpoint(
    summary="Create a purchase intent and its Kaspi payment",
    tags=("billing",),
    body=PurchaseIntentIn,
    response=PurchaseIntentOut,
    status=201,
    errors={
        403: "Only the club owner may buy a plan",
        404: "Product, club or event not found",
        409: "Idempotency-Key still in use (IDEMPOTENCY_KEY_IN_USE), or a purchase for the "
        "event is already in progress (PURCHASE_IN_PROGRESS, with `transaction`: the open one)",
        422: "Idempotency-Key reused with another body",
        503: "Payment provider unavailable; nothing charged",
    },
    headers=(
        HeaderParam(
            "Idempotency-Key",
            "Optional; 1-255 printable characters, scoped to the caller. The same key with the "
            "same body answers the first response again (with `Idempotent-Replayed: true`); "
            "with another body, 422 IDEMPOTENCY_KEY_REUSED; while the first request still "
            "runs, 409 IDEMPOTENCY_KEY_IN_USE.",
            max_length=idempotency.MAX_KEY_LENGTH,
        ),
    ),
    response_headers={"Idempotent-Replayed": "`true` on a stored reply to a repeated key"},
    multi_step=True,
    # The caller's user row is made in the intent's first step, not a step of its own.
    provision=False,
)
def purchase_intent(
    body: PurchaseIntentIn,
) -> tuple[dict[str, Any] | PurchaseIntentOut, int, dict[str, str]]:
    key = request.headers.get("Idempotency-Key")
    if key is not None:
        key = idempotency.validate_key(key)
    result = create_purchase_intent(current_user_id(), body, key, new_user=current_user_row())
    headers = {"Idempotent-Replayed": "true"} if result.replayed else {}
    return result.body, result.status, headers


@bp.get("/transactions")
@endpoint(
    summary="Your transactions, newest first, in cursor pages (what each granted once settled)",
    tags=("billing",),
    query=HistoryQuery,
    response=HistoryPageOut,
    errors={400: "VALIDATION_ERROR: limit outside 1-100, an unknown status, or a bad cursor"},
)
def transaction_history(query: HistoryQuery) -> HistoryPageOut:
    return history_page(current_user_id(), query)


@bp.get("/transactions/status")
@endpoint(
    summary="Poll one of your transactions",
    tags=("billing",),
    query=StatusQuery,
    response=TransactionStatusOut,
    errors={404: "No such transaction of yours"},
    read_only=True,
)
def transaction_status(query: StatusQuery) -> TransactionStatusOut:
    return status_out(queries.own_transaction_row(current_user_id(), query.transaction_id))


@bp.get("/transactions/<transaction_id>")
@endpoint(
    summary="One of your transactions",
    tags=("billing",),
    response=TransactionDetailOut,
    errors={404: "No such transaction of yours"},
    read_only=True,
)
def transaction_by_id(transaction_id: str) -> TransactionDetailOut:
    tx_id = uuid_or_404(transaction_id, "TRANSACTION_NOT_FOUND", "Transaction not found")
    row = queries.own_transaction_row(current_user_id(), tx_id)
    # Receipts exist only for money received: an unpaid one costs no second read.
    receipts = receipts_of([tx_id])[tx_id] if row.settled_at is not None else []
    return TransactionDetailOut(**dict(status_out(row)), receipts=receipts)


@bp.get("/transactions/<transaction_id>/events")
@endpoint(
    summary="Follow one of your transactions: Server-Sent Events of its status",
    tags=("billing",),
    response=TransactionStatusOut,
    media_type="text/event-stream",
    errors={
        404: "No such transaction of yours (JSON, before the stream starts)",
        503: "Every database connection of the stream process is taken: retry after"
        " Retry-After, or poll the status",
    },
    # Reads only, the caller from the token: opening a stream writes nothing.
    read_only=True,
    headers=(
        HeaderParam(
            "Last-Event-ID",
            "Optional, sent on reconnect; the stream starts with the current state either way.",
            max_length=40,
        ),
    ),
)
def transaction_events(transaction_id: str) -> Response:
    """The first event is the current state (the body of GET /api/billing/transactions/ID);
    then one `status` event per change, within a second of its COMMIT. A final status
    (completed, failed, expired, refunded) is sent and the stream ends. A comment every
    15 s keeps it alive; after 5 minutes it ends with a `retry:` hint and the client
    reconnects. Served by the stream process (Procfile `stream`)."""
    tx_id = uuid_or_404(transaction_id, "TRANSACTION_NOT_FOUND", "Transaction not found")
    return stream.open_stream(current_user_id(), tx_id)


@bp.get("/credits")
@endpoint(
    summary="Your credits and available counts",
    tags=("billing",),
    response=CreditsOut,
    read_only=True,
)
def credits() -> CreditsOut:
    items, available = queries.credits_of(current_user_id())
    return CreditsOut(credits=[credit_out(c) for c in items], available=available)


@bp.post("/transactions/<transaction_id>/cancel")
@endpoint(
    summary="Cancel one of your pending purchases (Kaspi is asked first)",
    tags=("billing",),
    response=CancelOut,
    errors={
        404: "No such transaction of yours",
        409: "The transaction is not pending (TRANSACTION_NOT_PENDING, with current_status)",
        503: "The payment provider did not answer; nothing was cancelled",
    },
    multi_step=True,
)
def cancel_transaction(transaction_id: str) -> CancelOut:
    """Kaspi is asked to close the payment link first. Kaspi reports the payment made:
    it settles as usual (200, completed). Otherwise the transaction becomes canceled
    (200) and ``link_closed`` says whether the link can still be paid; cancelling
    again answers the same."""
    tx_id = uuid_or_404(transaction_id, "TRANSACTION_NOT_FOUND", "Transaction not found")
    return cancel.cancel(current_user_id(), tx_id, cancel_out)
