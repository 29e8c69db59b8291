"""Refunds (operator command): money back at the provider, unused credits revoked.

Three steps, because the provider is never called inside a database
transaction: (1) lock the transaction and its credits, refuse if any credit is
consumed, and revoke the available ones so nobody can spend them meanwhile;
(2) ask Kaspi to return the money; (3) mark the transaction refunded. If Kaspi
refuses, step (1) is undone and the credits become available again.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import update

from app import locking
from app.billing import status as sm
from app.billing.kaspi_client import ProviderRejected, ProviderUnavailable, RefundOutcomeUnknown
from app.billing.models import Credit, Transaction
from app.billing.provider import get_provider
from app.db import commit, rollback
from app.extensions import db


class RefundRefused(Exception):
    pass


def refund(transaction_id: uuid.UUID, *, source: str = "cli") -> Transaction:
    payment_id, amount, revoked = _reserve(transaction_id)
    commit()
    provider = get_provider()
    try:
        # A refund whose answer was lost last time is not sent twice.
        if not _already_refunded(provider, payment_id, amount):
            provider.refund(payment_id, amount)
    except RefundOutcomeUnknown as exc:
        # Kaspi may have returned the money: keep the credits revoked, and let a
        # rerun of the command find out (it checks the provider first).
        raise RefundRefused(
            f"no answer from the provider ({exc}); credits stay revoked; run the refund again"
        ) from exc
    except (ProviderRejected, ProviderUnavailable) as exc:
        rollback()
        _restore(revoked)
        commit()
        raise RefundRefused(f"the provider did not refund: {exc}") from exc
    tx = locking.lock_transaction(transaction_id)
    sm.transition(
        tx,
        sm.REFUNDED,
        source=source,
        provider_status="Returned",
        note=f"refunded; {len(revoked)} unused credit(s) revoked",
    )
    commit()
    return tx


def _already_refunded(provider, payment_id: str, amount) -> bool:
    refunded = provider.get_status(payment_id).refunded_amount
    return refunded is not None and refunded >= amount


def _reserve(transaction_id: uuid.UUID) -> tuple[str, object, list[uuid.UUID]]:
    tx = locking.lock_transaction(transaction_id)
    if tx is None:
        raise RefundRefused("no such transaction")
    if not sm.can_transition(tx.status, sm.REFUNDED):
        raise RefundRefused(f"transaction is {tx.status}; only completed ones can be refunded")
    if not tx.provider_payment_id:
        raise RefundRefused("transaction has no provider payment to refund")
    credits = locking.lock_credits_of_transaction(tx.id)
    consumed = [c for c in credits if c.status == "consumed"]
    if consumed:
        raise RefundRefused(
            f"{len(consumed)} credit(s) from this purchase are already used "
            f"(event {consumed[0].consumed_event_id}); refusing to refund"
        )
    now = datetime.now(UTC)
    revoked = []
    for credit in credits:
        if credit.status == "available":
            credit.status = "revoked"
            credit.revoked_at = now
            revoked.append(credit.id)
    db.session.flush()
    return tx.provider_payment_id, tx.amount, revoked


def _restore(credit_ids: list[uuid.UUID]) -> None:
    if credit_ids:
        db.session.execute(
            update(Credit)
            .where(Credit.id.in_(credit_ids), Credit.status == "revoked")
            .values(status="available", revoked_at=None)
        )
