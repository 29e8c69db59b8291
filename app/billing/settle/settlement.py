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
from typing import Any, Required, TypedDict, Unpack

from sqlalchemy import Connection, text

from app.billing.core import locks, status
from app.billing.core.models import Transaction
from app.billing.core.status import (
    CreditStatus,
    IllegalTransition,
    Source,
    TxStatus,
    transition,
)
from app.billing.core.terms import Terms
from app.catalog.services import sold_product
from app.clubs import subscriptions
from app.domain_errors import NotFound
from app.extensions import db
from app.renewals import holds as renewal_holds

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SettleResult:
    transaction: Transaction | None
    changed: bool
    granted: int = 0
    deliveries: int = 0  # webhook deliveries the one-statement completion queued


class SettleOptions(TypedDict, total=False):
    """What a settle records besides the target status (see :func:`settle_locked`)."""

    source: Required[Source]
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
    tx = locks.lock_transaction(transaction_id)
    if tx is None:
        return SettleResult(None, False)
    return settle_locked(tx, target, **options)


def settle_locked(
    tx: Transaction,
    target: TxStatus,
    *,
    source: Source,
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

    ``tx`` is locked by the caller in this step (``locks.lock_transaction``);
    :func:`settle` locks it first.
    """
    if tx.status == target:
        return SettleResult(tx, False)
    if tx.status not in allowed_from:
        raise IllegalTransition("transaction", tx.status, target)
    now = datetime.now(UTC)
    if target == TxStatus.COMPLETED:
        # A renewal paid twice (two links) is held, never two periods.
        held = renewal_holds.hold_reason(tx, now)
        if held is not None:
            target, note = TxStatus.NEEDS_REVIEW, held
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


# A credit purchase's units, granted from the row ``sold`` (the transaction's id and
# user_id) of the statement it ends: one statement whatever the quantity; a unit
# that already exists (same source and sequence) is skipped. Text: SQLAlchemy
# cannot cache the PostgreSQL dialect's INSERT ... ON CONFLICT, and compiling it
# anew cost more than its round trip on every settle.
_GRANTS_SQL = """
    INSERT INTO billing_credits
        (id, user_id, credit_code, source_transaction_id, sequence, status, created_at)
    SELECT unit.id, sold.user_id, :credit_code, sold.id, unit.sequence, :available, :now
    FROM sold,
         unnest(CAST(:ids AS uuid[]), CAST(:sequences AS integer[])) AS unit(id, sequence)
    ON CONFLICT ON CONSTRAINT uq_billing_credits_grant DO NOTHING
    RETURNING id
"""
_SOLD_ROW = "WITH sold AS (SELECT CAST(:id AS uuid) AS id, :user_id AS user_id)"
_INSERT_GRANTS = text(_SOLD_ROW + _GRANTS_SQL)


def _grant_params(quantity: int, credit_code: str, now: datetime) -> dict[str, Any]:
    sequences = list(range(1, quantity + 1))
    return {
        "ids": [uuid.uuid4() for _ in sequences],
        "sequences": sequences,
        "credit_code": credit_code,
        "available": CreditStatus.AVAILABLE.value,
        "now": now,
    }


def _insert_credit_grants(tx: Transaction, credit_code: str, now: datetime) -> int:
    """Grant ``tx.quantity`` credits; answers how many were inserted."""
    params = {"id": tx.id, "user_id": tx.user_id, **_grant_params(tx.quantity, credit_code, now)}
    granted = [row.id for row in db.session.execute(_INSERT_GRANTS, params)]
    status.credits_granted(tx.id, tx.user_id, credit_code, granted, now=now)
    return len(granted)


# A paid credit purchase completed by one statement (the status path's, with the
# grants as what completing writes besides): text, for the reason _GRANTS_SQL is.
_COMPLETE_CREDIT_PURCHASE = status.completion_statement(_GRANTS_SQL)


def complete_credit_purchase(
    conn: Connection,
    terms: Terms,
    credit_code: str,
    *,
    source: Source,
    provider_status: str | None,
    provider_transaction_id: str | None,
    provider_amount: Decimal | None,
    now: datetime,
) -> SettleResult:
    """Complete a pending credit purchase and grant its credits with one
    statement on ``conn``, whose caller sends it alone (``app.db.write_alone``) and,
    once it has returned, has it counted (``status.completion_committed``).

    The provider's answer was verified against ``terms`` beforehand (they cannot
    change). A row that is no longer pending is left alone and answers
    ``changed=False``: the locked path (:func:`settle_locked`) decides what that
    means. The same rows as :func:`settle_locked` with completed are written.
    """
    done = status.complete_alone(
        conn,
        _COMPLETE_CREDIT_PURCHASE,
        terms,
        source=source,
        provider_status=provider_status,
        provider_transaction_id=provider_transaction_id,
        provider_amount=provider_amount,
        now=now,
        effect_params=_grant_params(terms.quantity, credit_code, now),
    )
    return SettleResult(None, done.settled, done.effects, done.deliveries)
