"""The operator console's API (``/api/ops/...``): thin handlers over the operator room.

Every path needs a token granting the ``billing_operator`` role (``app.auth.roles``);
anyone else gets 403 ``FORBIDDEN`` before the body is read. Resolve and refund are
the CLI's own services (``billing resolve``, ``billing refund``), audited with the
operator's id and reason (:mod:`app.billing.operator.actions`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from flask import Blueprint

from app.api import endpoint
from app.auth.roles import OPERATOR
from app.auth.services import current_user_id
from app.billing.operator import actions, review, search, story, summary
from app.billing.operator.bodies import (
    ActedOut,
    OpsPageOut,
    OpsTransactionsQuery,
    RefundIn,
    ResolveIn,
    ReviewQueueOut,
    ReviewQueueQuery,
    StoryOut,
    SummaryOut,
    cents,
)
from app.errors import uuid_or_404

bp = Blueprint("ops", __name__, url_prefix="/api/ops")

TAGS = ("operator",)
FORBIDDEN = {403: "FORBIDDEN: the token does not grant the billing_operator role"}
NOT_FOUND = {404: "No such transaction"}
# What a resolve or refund may answer besides success.
ACTION_ERRORS = {
    **FORBIDDEN,
    **NOT_FOUND,
    409: "Refused: RESOLVE_REFUSED or REFUND_REFUSED (the state does not allow it, a refund "
    "is already under way, or the confirmed amount is no longer what would move), "
    "REFUND_OUTCOME_UNKNOWN (Kaspi did not answer: held for review and re-asked)",
    503: "Kaspi did not answer; nothing was moved",
}


@bp.get("/transactions")
@endpoint(
    summary="Operator: every buyer's transactions, newest first, in cursor pages",
    tags=TAGS,
    query=OpsTransactionsQuery,
    response=OpsPageOut,
    errors={400: "VALIDATION_ERROR: a bad filter, limit or cursor", **FORBIDDEN},
    read_only=True,
    role=OPERATOR,
)
def transactions(query: OpsTransactionsQuery) -> OpsPageOut:
    return search.transactions_page(query)


@bp.get("/review-queue")
@endpoint(
    summary="Operator: transactions held for review, oldest first, with why each was held",
    tags=TAGS,
    query=ReviewQueueQuery,
    response=ReviewQueueOut,
    errors={400: "VALIDATION_ERROR: limit outside 1-200", **FORBIDDEN},
    read_only=True,
    role=OPERATOR,
)
def review_queue(query: ReviewQueueQuery) -> ReviewQueueOut:
    now = datetime.now(UTC)
    items = review.queue(query.limit)
    return ReviewQueueOut(items=[story.review_item_out(item, now) for item in items])


@bp.get("/transactions/<transaction_id>")
@endpoint(
    summary="Operator: a transaction's whole story (audit, provider answers, refunds)",
    tags=TAGS,
    response=StoryOut,
    errors={**FORBIDDEN, **NOT_FOUND},
    read_only=True,
    role=OPERATOR,
)
def transaction_story(transaction_id: str) -> StoryOut:
    tx_id = uuid_or_404(transaction_id, "TRANSACTION_NOT_FOUND", "Transaction not found")
    return story.story(tx_id)


@bp.post("/transactions/<transaction_id>/resolve")
@endpoint(
    summary="Operator: resolve a held transaction (grant, refund what Kaspi received, fail)",
    tags=TAGS,
    body=ResolveIn,
    response=ActedOut,
    errors={400: "VALIDATION_ERROR: an unknown action or no reason", **ACTION_ERRORS},
    multi_step=True,
    provision=False,
    role=OPERATOR,
)
def resolve(transaction_id: str, body: ResolveIn) -> ActedOut:
    tx_id = uuid_or_404(transaction_id, "TRANSACTION_NOT_FOUND", "Transaction not found")
    acted = actions.resolve(tx_id, body.action, reason=body.reason, operator_id=current_user_id())
    return _acted(acted)


@bp.post("/transactions/<transaction_id>/refund")
@endpoint(
    summary="Operator: refund a completed transaction in full, or its unused credits' share",
    tags=TAGS,
    body=RefundIn,
    response=ActedOut,
    errors={400: "VALIDATION_ERROR: a bad amount or no reason", **ACTION_ERRORS},
    multi_step=True,
    provision=False,
    role=OPERATOR,
)
def refund(transaction_id: str, body: RefundIn) -> ActedOut:
    """``amount``, when given, is the amount the operator confirmed: the refund is
    refused (409 REFUND_REFUSED) if it would return another."""
    tx_id = uuid_or_404(transaction_id, "TRANSACTION_NOT_FOUND", "Transaction not found")
    acted = actions.refund(
        tx_id,
        unused=body.unused,
        amount=Decimal(body.amount) if body.amount is not None else None,
        reason=body.reason,
        operator_id=current_user_id(),
    )
    return _acted(acted)


@bp.get("/summary")
@endpoint(
    summary="Operator: counts by status, oldest held and pending, today's money, the last 24 h",
    tags=TAGS,
    response=SummaryOut,
    errors=FORBIDDEN,
    read_only=True,
    role=OPERATOR,
)
def ops_summary() -> SummaryOut:
    return summary.summary()


def _acted(acted: actions.Acted) -> ActedOut:
    return ActedOut(
        action_id=acted.action_id,
        transaction_id=acted.transaction_id,
        status=acted.status,
        refunded_amount=cents(acted.refunded_amount),
    )
