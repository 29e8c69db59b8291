"""The single check: ask Kaspi about one pending transaction and apply the answer.

Multi-step: read the row; ask Kaspi outside any transaction; apply the answer
(:func:`app.billing.settle.answer.apply_answer`). A row whose payment link was
never stored (its request died after the first step) gets the payment back from
Kaspi, idempotently on its ExternalId, or expires when nobody can have paid.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from app.billing.core.status import Source, TxStatus
from app.billing.kaspi.links import CREATE_GRACE, attach_payment
from app.billing.kaspi.provider import get_provider
from app.billing.settle import answer, settlement
from app.billing.settle.outcome import Outcome
from app.db import between_steps, step, write_alone
from app.observability.context import transaction_log_context


def reconcile(transaction_id: uuid.UUID, *, source: Source = Source.WORKER) -> Outcome:
    """Ask the provider about one transaction and apply the answer. Returns what happened."""
    with step():
        found = answer.read_due([transaction_id])
    if not found or found[0].status != TxStatus.PENDING:
        return Outcome.NOT_PENDING
    due = found[0]
    with transaction_log_context(transaction_id, due.origin_request_id):
        between_steps()
        if due.provider_payment_id is None:
            return _without_link(due, source)
        asked_at = datetime.now(UTC)
        reply = get_provider().get_status(due.provider_payment_id)
        return answer.apply_answer(due, reply, asked_at=asked_at, source=source)


def _without_link(due: answer.Due, source: Source) -> Outcome:
    now = datetime.now(UTC)
    if due.terms.created_at > now - CREATE_GRACE:
        return Outcome.CREATING
    if now > due.terms.expires_at:
        # No payment link ever left the service (the response is built only after
        # the link is stored), so nobody can have paid.
        with step():
            result = settlement.settle(
                due.terms.id, TxStatus.EXPIRED, source=source, note="no payment link was created"
            )
            return Outcome.EXPIRED if result.changed else Outcome.UNCHANGED
    # The intent's request died after committing the row; the create call is
    # idempotent on ExternalId, so this returns the payment it may have made.
    payment = get_provider().create_payment(str(due.terms.id), due.terms.amount)
    with write_alone() as conn:
        attach_payment(conn, due.terms.id, payment)
    return Outcome.PAYMENT_RECOVERED
