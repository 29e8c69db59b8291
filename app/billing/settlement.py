"""Settling a transaction: the status change and what was bought, in one DB transaction.

Idempotent by construction: the status machine refuses a second completion,
credit grants are unique on (source transaction, sequence) and plan periods on
their source transaction, so any number of concurrent settles grant once.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Required, TypedDict, Unpack

from sqlalchemy import text

from app import locking
from app.billing.models import Transaction
from app.billing.transitions import (
    CreditStatus,
    IllegalTransition,
    Source,
    TxStatus,
    transition,
)
from app.catalog.services import sold_product
from app.clubs import subscriptions
from app.domain_errors import NotFound
from app.extensions import db

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SettleResult:
    transaction: Transaction | None
    changed: bool
    granted: int = 0


class SettleOptions(TypedDict, total=False):
    """What a settle records besides the target status (see :func:`settle_locked`)."""

    source: Required[Source | str]
    provider_status: str | None
    note: str | None
    provider_transaction_id: str | None
    amount: Decimal | None
    provider_amount: Decimal | None
    allowed_from: frozenset[TxStatus]


def settle(
    transaction_id: uuid.UUID, target: TxStatus, **options: Unpack[SettleOptions]
) -> SettleResult:
    """Lock the transaction, then :func:`settle_locked`; a missing one changes nothing."""
    tx = locking.lock_transaction(transaction_id)
    if tx is None:
        return SettleResult(None, False)
    return settle_locked(tx, target, **options)


def settle_locked(
    tx: Transaction,
    target: TxStatus,
    *,
    source: Source | str,
    provider_status: str | None = None,
    note: str | None = None,
    provider_transaction_id: str | None = None,
    amount: Decimal | None = None,
    provider_amount: Decimal | None = None,
    allowed_from: frozenset[TxStatus] = frozenset({TxStatus.PENDING}),
) -> SettleResult:
    """Move a transaction from ``allowed_from`` (pending, unless a caller that knows
    better widens it) to ``target``; grant on completion.

    A transaction already in ``target`` is a no-op (the caller's retry, or a race
    it lost); any other state raises :class:`transitions.IllegalTransition` — in
    particular a closed one, which only the late-payment path may reopen.

    ``tx`` is locked by the caller in this step (``locking.lock_transaction``);
    :func:`settle` locks it first.
    """
    if tx.status == target:
        return SettleResult(tx, False)
    if tx.status not in allowed_from:
        raise IllegalTransition("transaction", tx.status, target)
    now = datetime.now(UTC)
    transition(
        tx,
        target,
        source=source,
        provider_status=provider_status,
        note=note,
        now=now,
        amount=amount,
        provider_amount=provider_amount,
    )
    if provider_transaction_id:
        tx.provider_transaction_id = provider_transaction_id
    granted = grant_entitlements(tx, now) if target == TxStatus.COMPLETED else 0
    return SettleResult(tx, True, granted)


def grant_entitlements(tx: Transaction, now: datetime) -> int:
    product = sold_product(tx.product_code)
    if product is None:  # the foreign key keeps a sold product; never expected
        raise NotFound("PRODUCT_NOT_FOUND", f"No product {tx.product_code}")
    if product.type == "credit":
        return _insert_credit_grants(tx, product.code, now)
    if tx.club_id is None or product.plan_id is None:  # a plan's sale names its club
        raise NotFound("CLUB_NOT_FOUND", "A club plan transaction without its club or plan")
    granted = subscriptions.grant_period(tx.club_id, product.plan_id, tx.id, now)
    return 1 if granted else 0


# Grants in one statement whatever the quantity, as text: SQLAlchemy cannot
# cache the PostgreSQL dialect's INSERT ... ON CONFLICT, and compiling it anew
# cost more than its round trip on every settle.
_INSERT_GRANTS = text(
    """
    INSERT INTO billing_credits
        (id, user_id, credit_code, source_transaction_id, sequence, status, created_at)
    SELECT unit.id, :user_id, :credit_code, :source_transaction_id, unit.sequence,
           :status, :created_at
    FROM unnest(CAST(:ids AS uuid[]), CAST(:sequences AS integer[])) AS unit(id, sequence)
    ON CONFLICT ON CONSTRAINT uq_billing_credits_grant DO NOTHING
    RETURNING id
    """
)


def _insert_credit_grants(tx: Transaction, credit_code: str, now: datetime) -> int:
    """Grant ``tx.quantity`` credits; units that already exist (same source and
    sequence) are skipped. Answers how many were inserted."""
    sequences = list(range(1, tx.quantity + 1))
    params = {
        "ids": [uuid.uuid4() for _ in sequences],
        "sequences": sequences,
        "user_id": tx.user_id,
        "credit_code": credit_code,
        "source_transaction_id": tx.id,
        "status": CreditStatus.AVAILABLE.value,
        "created_at": now,
    }
    return len(db.session.execute(_INSERT_GRANTS, params).all())
