"""The transaction status machine: the only way a transaction's status changes.

Every change, whoever asks (API, worker, dev endpoint, CLI), goes through
:func:`transition`, which refuses anything the table below does not list and
appends an audit event. Callers hold the row lock (``app.locking``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from app.billing.models import Transaction, TransactionEvent
from app.extensions import db

PENDING, COMPLETED, FAILED, EXPIRED, REFUNDED = (
    "pending",
    "completed",
    "failed",
    "expired",
    "refunded",
)

TRANSITIONS: dict[str, frozenset[str]] = {
    PENDING: frozenset({COMPLETED, FAILED, EXPIRED}),
    COMPLETED: frozenset({REFUNDED}),
    FAILED: frozenset(),
    EXPIRED: frozenset(),
    REFUNDED: frozenset(),
}
TERMINAL = frozenset(status for status, targets in TRANSITIONS.items() if not targets)
SOURCES = frozenset({"api", "worker", "dev", "cli"})


class IllegalTransition(Exception):
    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"transaction is {current}; it cannot become {target}")
        self.current = current
        self.target = target


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def transition(
    tx: Transaction,
    target: str,
    *,
    source: str,
    provider_status: str | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> None:
    """Move ``tx`` to ``target`` or raise :class:`IllegalTransition`; never overwrites."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")
    if not can_transition(tx.status, target):
        raise IllegalTransition(tx.status, target)
    moment = now or datetime.now(UTC)
    db.session.add(
        TransactionEvent(
            transaction_id=tx.id,
            from_status=tx.status,
            to_status=target,
            source=source,
            provider_status=provider_status,
            note=note,
            created_at=moment,
        )
    )
    tx.status = target
    tx.updated_at = moment
    if target == COMPLETED:
        tx.settled_at = moment
    if target != PENDING:
        tx.next_poll_at = None


def record_creation(tx: Transaction, *, source: str) -> None:
    """The first audit entry: the transaction came to exist as pending."""
    db.session.add(
        TransactionEvent(transaction_id=tx.id, from_status=None, to_status=tx.status, source=source)
    )
