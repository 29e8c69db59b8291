"""Every row lock the service takes, in one place.

Lock order, always:
transactions → events → clubs → club_subscriptions → billing_credits.
A code path that needs several of these takes them in that order, so two paths
can never wait on each other in a cycle (no deadlocks between settlement,
refund, publish and the subscription lifecycle).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import ScalarResult, Select, func, literal, select, update
from sqlalchemy.sql.dml import ReturningUpdate

from app.billing.core.models import Credit, Transaction
from app.billing.core.status import CLOSED_UNPAID, CreditStatus, TxStatus
from app.clubs.models import Club, ClubSubscription
from app.clubs.transitions import SubStatus
from app.events.models import Event
from app.extensions import db

_Row = TypeVar("_Row")


# A locked row must be read as the lock sees it: without populate_existing an
# object already in the session keeps its old attribute values.
def _fresh_one(stmt: Select[tuple[_Row]]) -> _Row | None:
    return db.session.scalar(stmt.execution_options(populate_existing=True))


def _fresh_all(stmt: Select[tuple[_Row]]) -> ScalarResult[_Row]:
    return db.session.scalars(stmt.execution_options(populate_existing=True))


def lock_transaction(transaction_id: uuid.UUID) -> Transaction | None:
    """Serialises every status change of one transaction."""
    return _fresh_one(select(Transaction).where(Transaction.id == transaction_id).with_for_update())


def claim_due_pending_transactions(now: datetime, limit: int) -> Sequence[Transaction]:
    """Pending transactions whose next poll is due; rows another poller holds are skipped."""
    stmt = (
        select(Transaction)
        .where(Transaction.status == TxStatus.PENDING, Transaction.next_poll_at <= now)
        .order_by(Transaction.next_poll_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return _fresh_all(stmt).all()


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
    return _fresh_all(expired_pending_statement(now, limit)).all()


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


def lock_event(event_id: uuid.UUID) -> Event | None:
    return _fresh_one(select(Event).where(Event.id == event_id).with_for_update())


def lock_subscription(club_id: uuid.UUID) -> ClubSubscription | None:
    return _fresh_one(
        select(ClubSubscription).where(ClubSubscription.club_id == club_id).with_for_update()
    )


def share_subscription(club_id: uuid.UUID) -> ClubSubscription | None:
    """Readers that act on a subscription's status hold it still until they commit."""
    return _fresh_one(
        select(ClubSubscription)
        .where(ClubSubscription.club_id == club_id)
        .with_for_update(read=True)
    )


def claim_subscriptions_due(now: datetime, limit: int) -> Sequence[ClubSubscription]:
    return _fresh_all(subscriptions_due_statement(now, limit)).all()


def subscriptions_due_statement(now: datetime, limit: int) -> Select[tuple[ClubSubscription]]:
    return (
        select(ClubSubscription)
        .where(
            (
                (ClubSubscription.status == SubStatus.ACTIVE)
                & (ClubSubscription.current_period_end <= now)
            )
            | ((ClubSubscription.status == SubStatus.GRACE) & (ClubSubscription.grace_until <= now))
        )
        .order_by(ClubSubscription.current_period_end)
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
    return _fresh_one(stmt)


def lock_credits_of_transaction(transaction_id: uuid.UUID) -> Sequence[Credit]:
    stmt = (
        select(Credit)
        .where(Credit.source_transaction_id == transaction_id)
        .order_by(Credit.sequence)
        .with_for_update()
    )
    return _fresh_all(stmt).all()


def lock_club(club_id: uuid.UUID) -> Club | None:
    """Serialises membership changes of one club (counting members against the plan).

    In the lock order clubs sit between events and club_subscriptions:
    transactions → events → clubs → club_subscriptions → billing_credits.
    FOR NO KEY UPDATE: rows referencing the club (new members, new events) still
    only take KEY SHARE on it and are not blocked.
    """
    return _fresh_one(select(Club).where(Club.id == club_id).with_for_update(key_share=True))
