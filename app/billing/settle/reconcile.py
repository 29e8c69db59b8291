"""Bringing pending transactions in line with what the provider says.

A transaction leaves ``pending`` only on the provider's answer: Processed →
completed (when amount, currency and identity match; else needs_review), Error →
failed, or — once the provider's own expiry has passed and it still reports no
payment — expired. Kaspi statuses other than Processed and Error mean "still
pending". A payment confirmed after a transaction closed is found by the
late-payment sweep (:mod:`app.billing.settle.late`).
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from flask import current_app

from app.billing.core import locks
from app.billing.core.models import Transaction
from app.billing.core.status import CLOSED_UNPAID, Source, TxStatus
from app.billing.kaspi.client import PaymentStatus
from app.billing.kaspi.provider import get_provider
from app.billing.purchase.intents import CREATE_GRACE, attach_payment
from app.billing.settle import verify
from app.billing.settle.settlement import settle, settle_locked
from app.db import outside_transaction, step, write_alone
from app.extensions import db
from app.observability.context import transaction_context

log = logging.getLogger(__name__)


def next_poll_delay(attempts: int) -> timedelta:
    """Exponential backoff from the first delay up to the ceiling."""
    cfg = current_app.config
    delay = cfg["POLL_INITIAL_DELAY_S"] * (2 ** max(0, attempts - 1))
    return timedelta(seconds=min(delay, cfg["POLL_MAX_DELAY_S"]))


def claim_stale(now: datetime, limit: int = 200) -> list[uuid.UUID]:
    """Pending transactions past their expiry: make them due for a final check now."""
    ids = []
    for tx in locks.claim_expired_pending_transactions(now, limit):
        tx.next_poll_at = now + next_poll_delay(1)
        ids.append(tx.id)
    return ids


def reconcile(transaction_id: uuid.UUID, *, source: Source | str = Source.WORKER) -> str:
    """Ask the provider about one transaction and apply the answer. Returns what happened.

    Multi-step: read the row; ask Kaspi outside any transaction; apply the answer
    under the row lock in a step of its own.
    """
    with step():
        tx = db.session.get(Transaction, transaction_id)
        if tx is None or tx.status != TxStatus.PENDING:
            return "not_pending"
        payment_id, amount, created_at = tx.provider_payment_id, tx.amount, tx.created_at
        expires_at = tx.expires_at
        origin_request_id = tx.origin_request_id
    with transaction_context(transaction_id, origin_request_id):
        return _ask_and_apply(transaction_id, payment_id, amount, created_at, expires_at, source)


def _ask_and_apply(
    transaction_id: uuid.UUID,
    payment_id: str | None,
    amount: Decimal,
    created_at: datetime,
    expires_at: datetime,
    source: Source | str,
) -> str:
    outside_transaction()
    provider = get_provider()
    now = datetime.now(UTC)
    if payment_id is None:
        if created_at > now - CREATE_GRACE:
            return "creating"
        if now > expires_at:
            # No payment link ever left the service (the response is built only
            # after the link is stored), so nobody can have paid.
            with step():
                result = settle(
                    transaction_id,
                    TxStatus.EXPIRED,
                    source=source,
                    note="no payment link was created",
                )
                return "expired" if result.changed else "unchanged"
        # The intent's request died after committing the row; the create call is
        # idempotent on ExternalId, so this returns the payment it may have made.
        payment = provider.create_payment(str(transaction_id), amount)
        with write_alone() as conn:
            attach_payment(conn, transaction_id, payment)
        return "payment_recovered"
    answer = provider.get_status(payment_id)
    with step():
        return apply_provider_status(transaction_id, answer, asked_at=now, source=source)


def apply_provider_status(
    transaction_id: uuid.UUID,
    answer: PaymentStatus,
    *,
    asked_at: datetime,
    source: Source | str,
) -> str:
    """Apply one provider answer to a pending transaction under its row lock (one step).

    Processed settles only after :func:`verify.mismatch` finds nothing (else
    needs_review); Error fails; anything else is still pending, and expires once
    the provider's own expiry (plus the margin) has passed with no payment.
    """
    tx = locks.lock_transaction(transaction_id)
    if tx is None:
        return "not_pending"
    if tx.status != TxStatus.PENDING:
        if answer.state == "processed" and tx.status in CLOSED_UNPAID:
            # Closed by hand (or a cancel) while the buyer paid: the late-payment
            # sweep applies the policy to it; nothing is overwritten here.
            log.error(
                "provider says %s for transaction %s, which is already %s; "
                "the late-payment sweep will handle it",
                answer.provider_status,
                transaction_id,
                tx.status,
            )
            return "conflict"
        return "not_pending"
    if answer.state == "processed":
        reason = verify.mismatch(tx, answer)
        if reason is not None:
            verify.hold_for_review(tx, answer, reason, source=source)
            return "needs_review"
        result = settle_locked(
            tx,
            TxStatus.COMPLETED,
            source=source,
            provider_status=answer.provider_status,
            provider_transaction_id=answer.provider_transaction_id,
            amount=tx.amount,
            provider_amount=answer.amount,
        )
        return "completed" if result.changed else "unchanged"
    if answer.state == "error":
        result = settle_locked(
            tx, TxStatus.FAILED, source=source, provider_status=answer.provider_status
        )
        return "failed" if result.changed else "unchanged"
    if answer.expires_at is not None and answer.expires_at != tx.provider_expires_at:
        tx.provider_expires_at = answer.expires_at  # Kaspi may move its ExpireDate
    if provider_link_closed(tx.provider_expires_at, tx.expires_at, asked_at):
        result = settle_locked(
            tx,
            TxStatus.EXPIRED,
            source=source,
            provider_status=answer.provider_status,
            note="expired at the provider with no payment",
        )
        return "expired" if result.changed else "unchanged"
    return "waiting"


def provider_link_closed(
    provider_expires_at: datetime | None, our_expires_at: datetime, asked_at: datetime
) -> bool:
    """Whether an answer without a payment, asked for at ``asked_at``, is final.

    The provider's ExpireDate decides: once it (plus a margin for a payment
    confirmed at the last moment, and for clock skew) has passed, nobody can pay
    any more, so the transaction expires at once, whatever our own TTL says. Only
    when the provider named no expiry does our TTL stand in for it. A payment
    confirmed later anyway is the late-payment sweep's to find.
    """
    margin = timedelta(seconds=current_app.config["PROVIDER_EXPIRY_MARGIN_S"])
    if provider_expires_at is not None:
        return asked_at > provider_expires_at + margin
    return asked_at > our_expires_at
