"""Late money: payments Kaspi confirms after we closed the transaction without one.

A transaction that left ``pending`` without a payment (expired, failed — also by
hand — or canceled) may still be paid: the buyer's Kaspi app had the link open,
Kaspi finished confirming after ExpireDate, an operator failed it too early. A
periodic sweep re-asks Kaspi about such transactions for
``billing_policy.late_payment_window_days`` after they closed, and applies the
answer with ``billing_policy.late_payment_action``
(:func:`app.billing.settle.answer.apply_answer`): every move a transition in the
table, audited with source ``sweep``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import update

from app.billing.core import locks
from app.billing.core.models import Transaction
from app.billing.core.status import CLOSED_UNPAID, Source
from app.billing.kaspi.provider import get_provider
from app.billing.settle import answer
from app.billing.settle.outcome import Outcome
from app.catalog.models import LateAction
from app.catalog.services import get_policy
from app.db import between_steps, step
from app.extensions import db
from app.observability.context import transaction_log_context


def claim_late_candidates(now: datetime, limit: int = 100) -> list[uuid.UUID]:
    """Claim closed-unpaid transactions due for another look (one step, the caller's).

    ``late_checked_at`` is stamped in the same statement's locks, so two sweeps never
    ask about the same row at once; ``updated_at`` is kept as it was, because it is
    when the transaction closed and so what the window counts from.
    """
    policy = get_policy()
    closed_since = now - timedelta(days=policy.late_payment_window_days)
    min_recheck = timedelta(seconds=current_app.config["LATE_RECHECK_S"])
    ids = list(locks.claim_closed_unpaid_transactions(closed_since, now, min_recheck, limit))
    if ids:
        db.session.execute(
            update(Transaction)
            .where(Transaction.id.in_(ids))
            .values(late_checked_at=now, updated_at=Transaction.updated_at)
        )
    return ids


def check_late(transaction_id: uuid.UUID, *, source: Source = Source.SWEEP) -> Outcome:
    """Ask Kaspi about one closed-unpaid transaction and apply the policy. Multi-step."""
    with step():
        found = answer.read_due([transaction_id])
        action = LateAction(get_policy().late_payment_action)
    if not found or found[0].status not in CLOSED_UNPAID or found[0].provider_payment_id is None:
        return Outcome.NOT_CLOSED
    due = found[0]
    with transaction_log_context(transaction_id, due.origin_request_id):
        between_steps()
        asked_at = datetime.now(UTC)
        reply = get_provider().get_status(str(due.provider_payment_id))
        return answer.apply_answer(due, reply, asked_at=asked_at, source=source, late_action=action)
