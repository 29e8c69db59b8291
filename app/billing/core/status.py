"""The one status path of billing: every change of a transaction's or a credit's status.

Whoever asks (API, worker, sweep, dev endpoint, CLI), a transaction's status is
changed here and nowhere else (and so are a credit's and a refund attempt's),
and every change of a transaction:

1. is checked against the transition table (an illegal one is refused, never
   written);
2. appends its audit row (``transaction_events``: from, to, source, provider
   status, both amounts, note, time) in the same database transaction;
3. is counted and logged once committed (``app.observability.transitions``);
4. is announced to the status streams after COMMIT (:mod:`app.billing.core.notify`);
5. is written to the outbox as a webhook event in the same database transaction
   (:mod:`app.webhooks.outbox`), and so is every change of a credit.

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
from app.webhooks import outbox
from app.webhooks.catalogue import EventType, transaction_key, user_key
from app.webhooks.outbox import money_text
from app.webhooks.wake import wake_relay

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

# The webhook event of each status a transaction moves to. Refunded is told by
# :func:`refund_done` instead, with the amount returned (partial refunds too).
TRANSACTION_EVENTS = {
    TxStatus.COMPLETED: EventType.TRANSACTION_COMPLETED,
    TxStatus.FAILED: EventType.TRANSACTION_FAILED,
    TxStatus.EXPIRED: EventType.TRANSACTION_EXPIRED,
    TxStatus.CANCELED: EventType.TRANSACTION_CANCELED,
    TxStatus.NEEDS_REVIEW: EventType.TRANSACTION_NEEDS_REVIEW,
}


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
    if target in TRANSACTION_EVENTS:
        data = transaction_data(tx)
        if target == TxStatus.NEEDS_REVIEW:
            data["reason"] = note
        outbox.emit(TRANSACTION_EVENTS[target], transaction_key(tx.id), data, now=moment)


def transaction_data(tx: Transaction) -> dict[str, Any]:
    """A transaction's thin webhook data (docs/WEBHOOKS.md)."""
    return {
        "transaction_id": str(tx.id),
        "status": tx.status,
        "product_code": tx.product_code,
        "quantity": tx.quantity,
        "amount": money_text(tx.amount),
        "currency": tx.currency,
        "user_id": tx.user_id,
        "club_id": str(tx.club_id) if tx.club_id else None,
    }


def refund_done(tx: Transaction, refund_amount: Decimal, *, now: datetime) -> None:
    """Money went back to the buyer (all of it, or a part): ``transaction.refunded``,
    after the locked ``tx`` has its new refunded total (and status, if it closed)."""
    data = transaction_data(tx)
    data["refund_amount"] = money_text(refund_amount)
    data["refunded_total"] = money_text(tx.refunded_amount)
    data["full"] = tx.status == TxStatus.REFUNDED
    outbox.emit(EventType.TRANSACTION_REFUNDED, transaction_key(tx.id), data, now=now)


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
    effects AS ({effects}),
    {outbox}
    SELECT (SELECT count(*) FROM sold) AS settled, (SELECT count(*) FROM effects) AS effects,
           (SELECT count(*) FROM delivered) AS deliveries
"""

# Its webhook events: transaction.completed, and credit.granted when ``effects``
# (credit grants, RETURNING id) granted any; their data as :func:`transaction_data`
# and :func:`credits_granted` write it on the ORM path.
_COMPLETION_EVENTS = outbox.fanout_sql(
    """
    SELECT CAST(:completed_event AS text) AS id, CAST(:completed_type AS text) AS type,
           'transaction:' || sold.id AS ordering_key,
           CAST(:completed_data AS jsonb) || jsonb_build_object('user_id', sold.user_id) AS data,
           CAST(:now AS timestamptz) AS at, 1 AS ord
    FROM sold
    UNION ALL
    SELECT CAST(:granted_event AS text), CAST(:granted_type AS text), 'user:' || sold.user_id,
           CAST(:granted_data AS jsonb) || jsonb_build_object(
               'user_id', sold.user_id,
               'quantity', (SELECT count(*) FROM effects),
               'credit_ids', (SELECT jsonb_agg(CAST(id AS text) ORDER BY CAST(id AS text))
                              FROM effects)),
           CAST(:now AS timestamptz), 2
    FROM sold WHERE EXISTS (SELECT 1 FROM effects)
    """
)


def completion_statement(effects_sql: str) -> TextClause:
    """The one-statement completion with ``effects_sql`` (a query over ``sold``
    returning one row per effect); built once, at import, by its caller."""
    TRANSACTION_MOVES.check(TxStatus.PENDING, TxStatus.COMPLETED)
    return text(_COMPLETION_SQL.format(effects=effects_sql, outbox=_COMPLETION_EVENTS))


@dataclass(frozen=True)
class CompletedAlone:
    settled: bool  # False: the row had left pending; nothing was written
    effects: int
    deliveries: int = 0  # webhook deliveries queued: the relay is woken after COMMIT


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
            **_completion_event_params(terms, effect_params, now),
            **effect_params,
        },
    ).one()
    return CompletedAlone(bool(row.settled), int(row.effects), int(row.deliveries))


def _completion_event_params(
    terms: Terms, effect_params: dict[str, Any], now: datetime
) -> dict[str, Any]:
    completed = {
        "transaction_id": str(terms.id),
        "status": TxStatus.COMPLETED.value,
        "product_code": terms.product_code,
        "quantity": terms.quantity,
        "amount": money_text(terms.amount),
        "currency": terms.currency,
        "club_id": None,  # a one-statement completion is a credit purchase
    }
    granted = {
        "transaction_id": str(terms.id),
        "credit_code": effect_params.get("credit_code"),
        "reason": "purchase",
    }
    return {
        "completed_event": outbox.new_event_id(),
        "completed_type": EventType.TRANSACTION_COMPLETED.value,
        "completed_data": outbox.dumps(completed),
        "granted_event": outbox.new_event_id(),
        "granted_type": EventType.CREDIT_GRANTED.value,
        "granted_data": outbox.dumps(granted),
    }


def completion_committed(
    terms: Terms, *, source: Source, now: datetime, deliveries: int = 0
) -> None:
    """After :func:`complete_alone` committed a completion: count and log it as an
    ORM transition is counted, tell the status streams, wake the webhook relay."""
    since = (now - terms.created_at).total_seconds()
    count_committed([Seen(str(terms.id), TxStatus.PENDING, TxStatus.COMPLETED, source, since)])
    notify.publish(terms.id)
    if deliveries:
        wake_relay()


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


_CREDIT_EVENTS = {
    CreditStatus.CONSUMED: EventType.CREDIT_CONSUMED,
    CreditStatus.REVOKED: EventType.CREDIT_REVOKED,
    CreditStatus.AVAILABLE: EventType.CREDIT_RESTORED,
}


def move_credit(credit: Credit, target: CreditStatus, *, now: datetime) -> None:
    """Change a locked credit's status, with the timestamp that status carries."""
    CREDIT_MOVES.check(credit.status, target)
    credit.status = target
    if target == CreditStatus.REVOKED:
        credit.revoked_at = now
    elif target == CreditStatus.AVAILABLE:
        credit.revoked_at = None
    _credit_event(target, credit.id, credit.user_id, credit.credit_code, now=now)


def _credit_event(
    target: CreditStatus,
    credit_id: uuid.UUID,
    user_id: str,
    credit_code: str,
    *,
    now: datetime,
    event_id: uuid.UUID | None = None,
) -> None:
    data: dict[str, Any] = {
        "credit_id": str(credit_id),
        "credit_code": credit_code,
        "status": target.value,
        "user_id": user_id,
    }
    if event_id is not None:
        data["event_id"] = str(event_id)
    outbox.emit(_CREDIT_EVENTS[target], user_key(user_id), data, now=now)


def consume_credit(credit_id: uuid.UUID, event_id: uuid.UUID, *, now: datetime) -> bool:
    """available → consumed for one event (the caller holds the credit's lock; the
    condition is the belt to the lock's braces). Answers whether it changed."""
    row = db.session.execute(
        credit_status_update(
            CreditStatus.AVAILABLE,
            CreditStatus.CONSUMED,
            consumed_event_id=event_id,
            consumed_at=now,
        )
        .where(Credit.id == credit_id)
        .returning(Credit.user_id, Credit.credit_code)
    ).first()
    if row is None:
        return False
    _credit_event(
        CreditStatus.CONSUMED, credit_id, row.user_id, row.credit_code, now=now, event_id=event_id
    )
    return True


def restore_credits(credit_ids: list[uuid.UUID], *, now: datetime) -> None:
    """revoked → available: a refund that did not happen gives its credits back."""
    if not credit_ids:
        return
    rows = db.session.execute(
        credit_status_update(CreditStatus.REVOKED, CreditStatus.AVAILABLE, revoked_at=None)
        .where(Credit.id.in_(credit_ids))
        .returning(Credit.id, Credit.user_id, Credit.credit_code)
    ).all()
    for row in sorted(rows, key=lambda r: str(r.id)):
        _credit_event(CreditStatus.AVAILABLE, row.id, row.user_id, row.credit_code, now=now)


def credits_granted(
    transaction_id: uuid.UUID,
    user_id: str,
    credit_code: str,
    credit_ids: list[uuid.UUID],
    *,
    now: datetime,
    reason: str = "purchase",
) -> None:
    """New credits (as the one-statement completion tells them): ``credit.granted``."""
    if not credit_ids:
        return
    data = {
        "transaction_id": str(transaction_id),
        "credit_code": credit_code,
        "reason": reason,
        "user_id": user_id,
        "quantity": len(credit_ids),
        "credit_ids": sorted(str(credit_id) for credit_id in credit_ids),
    }
    outbox.emit(EventType.CREDIT_GRANTED, user_key(user_id), data, now=now)


def credit_status_update(current: CreditStatus, target: CreditStatus, **values: Any) -> Update:
    """A conditional ``UPDATE billing_credits ... WHERE status = current`` for one change.

    The table is asked first; the WHERE makes the change a no-op (rowcount 0)
    for a row that left ``current`` meanwhile.
    """
    CREDIT_MOVES.check(current, target)
    return update(Credit).where(Credit.status == current).values(status=target, **values)
