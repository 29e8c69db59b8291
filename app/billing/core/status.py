"""The one status path of billing: every change of a transaction's or a credit's status.

Whoever asks (API, worker, sweep, dev endpoint, CLI), a transaction's status is
changed here and nowhere else (and so are a credit's and a refund attempt's),
and every change of a transaction:

1. is checked against the transition table (an illegal one is refused, never
   written);
2. appends its audit row (``transaction_events``: from, to, source, provider
   status, both amounts, note, time) in the same database transaction;
3. is counted and logged once committed (``app.observability.transitions``);
4. is announced to the status streams after COMMIT (:mod:`app.billing.core.notify`).

Three shapes of the same change, all built here:

- :func:`transition`: an ORM row the caller holds locked;
- :data:`CREATION_EVENT_SQL` / :func:`creation_committed`: a new pending row's
  first audit entry, a CTE of the purchase intent's single INSERT statement;
- :func:`completion_statement` / :func:`complete_alone` /
  :func:`completion_committed`: pending → completed as one statement sent alone
  (the settle batch's common case), with what settling writes besides (the
  grants) as a further CTE supplied by the caller.

A module test (tests/unit/test_status_path.py) fails if any other module of
``app/`` writes a status or an audit row.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, TextClause, Update, text, update

from app.billing.core import notify
from app.billing.core.models import Credit, RefundAttempt, Transaction, TransactionEvent
from app.billing.core.terms import Terms
from app.db import after_commit
from app.extensions import db
from app.observability import metrics
from app.observability.transitions import Seen, count_at_commit, count_committed
from app.state_machine import IllegalTransition, TransitionTable

__all__ = ["IllegalTransition", "TransitionTable"]


class TxStatus(StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"
    EXPIRED = "expired"
    # The buyer cancelled and Kaspi confirmed no payment.
    CANCELED = "canceled"
    # The provider's answer disagrees with ours (amount, currency, identity), a late
    # payment is held by policy, or a refund's outcome is unknown: nothing granted
    # until an operator resolves it.
    NEEDS_REVIEW = "needs_review"
    REFUNDED = "refunded"


class Source(StrEnum):
    """Who asked for a change; recorded on every audit event."""

    API = "api"
    WORKER = "worker"
    DEV = "dev"
    CLI = "cli"
    SWEEP = "sweep"  # the late-payment reconciliation sweep
    # The sweep that re-asks Kaspi about a refund whose answer was lost: it releases
    # the refund_unknown hold it put there, and nothing else.
    RECHECK = "recheck"


# Closed without a payment: the late-payment sweep keeps asking Kaspi about these
# for ``billing_policy.late_payment_window_days``.
CLOSED_UNPAID = frozenset({TxStatus.EXPIRED, TxStatus.FAILED, TxStatus.CANCELED})
# What a payment confirmed after closing may lead to (``late_payment_action``:
# grant → completed, refund → refunded, hold or a mismatch → needs_review).
_LATE_PAYMENT = frozenset({TxStatus.COMPLETED, TxStatus.REFUNDED, TxStatus.NEEDS_REVIEW})

TRANSACTION_MOVES: TransitionTable[TxStatus] = TransitionTable(
    "transaction",
    {
        TxStatus.PENDING: frozenset(
            {
                TxStatus.COMPLETED,
                TxStatus.FAILED,
                TxStatus.EXPIRED,
                TxStatus.CANCELED,
                TxStatus.NEEDS_REVIEW,
            }
        ),
        # needs_review: a refund whose outcome Kaspi never told us.
        TxStatus.COMPLETED: frozenset({TxStatus.REFUNDED, TxStatus.NEEDS_REVIEW}),
        TxStatus.FAILED: _LATE_PAYMENT,
        TxStatus.EXPIRED: _LATE_PAYMENT,
        TxStatus.CANCELED: _LATE_PAYMENT,
        # Resolved by an operator (``billing resolve``), or by the refund re-check
        # once Kaspi's answer is known: see REVIEW_SOURCES.
        TxStatus.NEEDS_REVIEW: frozenset({TxStatus.COMPLETED, TxStatus.REFUNDED, TxStatus.FAILED}),
        TxStatus.REFUNDED: frozenset(),
    },
)
# Who may move a transaction out of needs_review: an operator's command, and the
# re-check of a refund whose outcome was unknown.
REVIEW_SOURCES = frozenset({Source.CLI, Source.RECHECK})
# Statuses that mean "money was received and kept or returned": settled_at is set.
PAID = frozenset({TxStatus.COMPLETED, TxStatus.REFUNDED})


class CreditStatus(StrEnum):
    AVAILABLE = "available"
    CONSUMED = "consumed"
    REVOKED = "revoked"


CREDIT_MOVES: TransitionTable[CreditStatus] = TransitionTable(
    "credit",
    {
        CreditStatus.AVAILABLE: frozenset({CreditStatus.CONSUMED, CreditStatus.REVOKED}),
        CreditStatus.CONSUMED: frozenset(),
        # A refund the provider refused gives the credits it had revoked back.
        CreditStatus.REVOKED: frozenset({CreditStatus.AVAILABLE}),
    },
)


def transition(
    tx: Transaction,
    target: TxStatus,
    *,
    source: Source,
    provider_status: str | None = None,
    note: str | None = None,
    now: datetime | None = None,
    amount: Decimal | None = None,
    provider_amount: Decimal | None = None,
) -> None:
    """Move the locked ``tx`` to ``target`` or raise :class:`IllegalTransition`.

    ``amount``/``provider_amount``: ours and the provider's, recorded side by side
    when the change is about money.
    """
    source = Source(source)  # an unknown source is refused here, not by the audit's CHECK
    TRANSACTION_MOVES.check(tx.status, target)
    if tx.status == TxStatus.NEEDS_REVIEW and source not in REVIEW_SOURCES:
        raise IllegalTransition("transaction", tx.status, target)
    moment = now or datetime.now(UTC)
    db.session.add(
        TransactionEvent(
            transaction_id=tx.id,
            from_status=tx.status,
            to_status=target,
            source=source,
            provider_status=provider_status,
            amount=amount,
            provider_amount=provider_amount,
            note=note,
            created_at=moment,
        )
    )
    # Only a loaded value: a row that was never read has no age to report.
    created_at: datetime | None = tx.__dict__.get("created_at")
    since = (moment - created_at).total_seconds() if created_at is not None else None
    count_at_commit(db.session.info, Seen(str(tx.id), tx.status, target, source, since))
    tx.status = target
    tx.updated_at = moment
    if target in PAID and tx.settled_at is None:
        tx.settled_at = moment
    if target != TxStatus.PENDING:
        tx.next_poll_at = None
    notify.announce_after_commit(tx.id)


# -- a new transaction's first audit entry ------------------------------------------

# A CTE of the statement that inserts the pending row as ``created``: its audit
# entry (from nothing to pending) is written by the same statement.
CREATION_EVENT_SQL = """
    INSERT INTO transaction_events (transaction_id, from_status, to_status, source)
    SELECT id, NULL, status, :source FROM created
"""


def creation_params(source: Source) -> dict[str, str]:
    """The parameters :data:`CREATION_EVENT_SQL` and the pending row's status need."""
    return {"status": TxStatus.PENDING.value, "source": source.value}


def creation_committed(transaction_id: uuid.UUID, *, source: Source) -> None:
    """Once the creating statement has returned (committed): count it as a transition."""
    count_committed([Seen(str(transaction_id), None, TxStatus.PENDING, source, None)])


# -- pending → completed in one statement ------------------------------------------


# The conditional UPDATE is the row lock and the table's from-state (pending) at
# once; the audit entry and the caller's ``effects`` (a CTE over ``sold``, the
# completed row's id and user_id) are written only if it changed the row. Lock
# order holds: the transaction row first, then new rows of other tables.
_COMPLETION_SQL = """
    WITH sold AS (
        UPDATE transactions
        SET status = :completed, settled_at = :now, updated_at = :now, next_poll_at = NULL,
            provider_transaction_id = COALESCE(:provider_transaction_id, provider_transaction_id)
        WHERE id = :id AND status = :pending
        RETURNING id, user_id
    ),
    audited AS (
        INSERT INTO transaction_events
            (transaction_id, from_status, to_status, source, provider_status,
             amount, provider_amount, created_at)
        SELECT id, :pending, :completed, :source, :provider_status,
               :amount, :provider_amount, :now
        FROM sold
    ),
    effects AS ({effects})
    SELECT (SELECT count(*) FROM sold) AS settled, (SELECT count(*) FROM effects) AS effects
"""


def completion_statement(effects_sql: str) -> TextClause:
    """The one-statement completion with ``effects_sql`` (a query over ``sold``
    returning one row per effect); built once, at import, by its caller."""
    TRANSACTION_MOVES.check(TxStatus.PENDING, TxStatus.COMPLETED)
    return text(_COMPLETION_SQL.format(effects=effects_sql))


@dataclass(frozen=True)
class CompletedAlone:
    settled: bool  # False: the row had left pending; nothing was written
    effects: int


def complete_alone(
    conn: Connection,
    statement: TextClause,
    terms: Terms,
    *,
    source: Source,
    provider_status: str | None,
    provider_transaction_id: str | None,
    provider_amount: Decimal | None,
    now: datetime,
    effect_params: dict[str, Any],
) -> CompletedAlone:
    """Send the completion on ``conn`` (a connection of ``app.db.write_alone``); once
    the block has returned, :func:`completion_committed` counts and announces it."""
    row = conn.execute(
        statement,
        {
            "id": terms.id,
            "pending": TxStatus.PENDING.value,
            "completed": TxStatus.COMPLETED.value,
            "provider_transaction_id": provider_transaction_id or None,
            "source": source.value,
            "provider_status": provider_status,
            "amount": terms.amount,
            "provider_amount": provider_amount,
            "now": now,
            **effect_params,
        },
    ).one()
    return CompletedAlone(bool(row.settled), int(row.effects))


def completion_committed(terms: Terms, *, source: Source, now: datetime) -> None:
    """After :func:`complete_alone` committed a completion: count and log it as an
    ORM transition is counted, and tell the status streams."""
    since = (now - terms.created_at).total_seconds()
    count_committed([Seen(str(terms.id), TxStatus.PENDING, TxStatus.COMPLETED, source, since)])
    notify.publish(terms.id)


# -- refund attempts -----------------------------------------------------------------


class AttemptState(StrEnum):
    """What Kaspi answered a refund (``refund_attempts.state``)."""

    ASKING = "asking"
    DONE = "done"
    FAILED = "failed"
    UNKNOWN = "unknown"  # no answer: held for review and re-asked


ATTEMPT_MOVES: TransitionTable[AttemptState] = TransitionTable(
    "refund attempt",
    {
        AttemptState.ASKING: frozenset(
            {AttemptState.DONE, AttemptState.FAILED, AttemptState.UNKNOWN}
        ),
        AttemptState.UNKNOWN: frozenset({AttemptState.DONE, AttemptState.FAILED}),
        AttemptState.DONE: frozenset(),
        AttemptState.FAILED: frozenset(),
    },
)


def move_attempt(attempt: RefundAttempt, target: AttemptState, *, now: datetime) -> None:
    """Record what Kaspi answered a locked refund attempt."""
    ATTEMPT_MOVES.check(attempt.state, target)
    attempt.state = target
    attempt.checked_at = now
    kind = attempt.kind
    after_commit(lambda: metrics.REFUND_ATTEMPTS.labels(kind, target.value).inc())


# -- credits -------------------------------------------------------------------------


def move_credit(credit: Credit, target: CreditStatus, *, now: datetime) -> None:
    """Change a locked credit's status, with the timestamp that status carries."""
    CREDIT_MOVES.check(credit.status, target)
    credit.status = target
    if target == CreditStatus.REVOKED:
        credit.revoked_at = now
    elif target == CreditStatus.AVAILABLE:
        credit.revoked_at = None


def credit_status_update(current: CreditStatus, target: CreditStatus, **values: Any) -> Update:
    """A conditional ``UPDATE billing_credits ... WHERE status = current`` for one change.

    The table is asked first; the WHERE makes the change a no-op (rowcount 0)
    for a row that left ``current`` meanwhile.
    """
    CREDIT_MOVES.check(current, target)
    return update(Credit).where(Credit.status == current).values(status=target, **values)
