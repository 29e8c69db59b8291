"""Every row lock billing takes: transactions, refund attempts and credits
(``app.locking.LOCK_ORDER``: transactions first, billing_credits last)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, func, literal, select, update
from sqlalchemy.sql.dml import ReturningUpdate

from app.billing.core.models import Credit, RefundAttempt, Transaction
from app.billing.core.status import CLOSED_UNPAID, CreditStatus, TxStatus
from app.extensions import db
from app.locking import fresh_all, fresh_one


def lock_transaction(transaction_id: uuid.UUID) -> Transaction | None:
    """Serialises every status change of one transaction."""
    return fresh_one(select(Transaction).where(Transaction.id == transaction_id).with_for_update())


def lock_refund_attempt(attempt_id: int) -> RefundAttempt | None:
    """Serialises recording a refund's outcome (taken after its transaction's lock)."""
    return fresh_one(select(RefundAttempt).where(RefundAttempt.id == attempt_id).with_for_update())


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    poll_attempts: int
    due_at: datetime  # when the check was due (the sweep's lag is now - due_at)


def claim_due_pending_statement(
    now: datetime, limit: int, lease_until: datetime
) -> ReturningUpdate[tuple[uuid.UUID, int, datetime]]:
    """One statement: lock due pending rows (SKIP LOCKED), lease them, count the attempt.

    The locked rows come from a CTE so the UPDATE can also return when each was due.
    """
    due = (
        select(Transaction.id, Transaction.next_poll_at)
        .where(Transaction.status == TxStatus.PENDING, Transaction.next_poll_at <= now)
        .order_by(Transaction.next_poll_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("due")
    )
    return (
        update(Transaction)
        .where(Transaction.id == due.c.id)
        .values(next_poll_at=lease_until, poll_attempts=Transaction.poll_attempts + 1)
        .returning(Transaction.id, Transaction.poll_attempts, due.c.next_poll_at)
        .execution_options(synchronize_session=False)
    )


def claim_due_pending(now: datetime, limit: int, lease_until: datetime) -> list[Claimed]:
    """Due pending transactions, leased until ``lease_until``; rows another poller holds
    are skipped. The sweep's whole claim is this one round trip."""
    rows = db.session.execute(claim_due_pending_statement(now, limit, lease_until))
    return [Claimed(row[0], row[1], row[2]) for row in rows]


def expired_pending_statement(now: datetime, limit: int) -> Select[tuple[Transaction]]:
    return (
        select(Transaction)
        .where(Transaction.status == TxStatus.PENDING, Transaction.expires_at <= now)
        .order_by(Transaction.expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


def claim_expired_pending_transactions(now: datetime, limit: int) -> Sequence[Transaction]:
    return fresh_all(expired_pending_statement(now, limit)).all()


def claim_closed_unpaid_transactions(
    closed_since: datetime, now: datetime, min_recheck: timedelta, limit: int
) -> Sequence[uuid.UUID]:
    """Ids of transactions closed without a payment since ``closed_since`` that are due
    for another question to Kaspi; rows another sweep holds are skipped.

    ``updated_at`` is when they closed. A row never asked is due at once; after that
    the pause grows with its age (a quarter of the time between closing and the last
    question, at least ``min_recheck``), so a week's window costs a few dozen calls
    per transaction, not one a minute.
    """
    return db.session.scalars(closed_unpaid_statement(closed_since, now, min_recheck, limit)).all()


def closed_unpaid_statement(
    closed_since: datetime, now: datetime, min_recheck: timedelta, limit: int
) -> Select[tuple[uuid.UUID]]:
    pause = func.greatest(
        literal(min_recheck), (Transaction.late_checked_at - Transaction.updated_at) / 4
    )
    return (
        select(Transaction.id)
        .where(
            Transaction.status.in_(CLOSED_UNPAID),
            Transaction.updated_at >= closed_since,
            Transaction.provider_payment_id.is_not(None),
            (Transaction.late_checked_at.is_(None))
            | (Transaction.late_checked_at < literal(now) - pause),
        )
        .order_by(Transaction.updated_at.desc())
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


def lock_oldest_available_credit(user_id: str, credit_code: str) -> Credit | None:
    """The oldest available credit; one a concurrent publish holds is skipped, not waited on."""
    stmt = (
        select(Credit)
        .where(
            Credit.user_id == user_id,
            Credit.credit_code == credit_code,
            Credit.status == CreditStatus.AVAILABLE,
        )
        .order_by(Credit.created_at, Credit.sequence, Credit.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return fresh_one(stmt)


def lock_credits_of_transaction(transaction_id: uuid.UUID) -> Sequence[Credit]:
    stmt = (
        select(Credit)
        .where(Credit.source_transaction_id == transaction_id)
        .order_by(Credit.sequence)
        .with_for_update()
    )
    return fresh_all(stmt).all()
