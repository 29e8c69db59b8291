"""Transaction transitions seen from the audit log, counted once they are committed.

Every status change appends a ``TransactionEvent`` (the status machine's rule),
so watching those rows is watching every transition, whoever made it, without
touching the status machine. New rows are noted at flush time in
``session.info``; after COMMIT they are counted, timed and logged, and on a
rollback they are forgotten — a refused or rolled-back change is never counted.
A transition written by one statement sent alone (the intent's creation, a paid
settle) is counted by its caller once the statement has returned: committed.

Which request created a transaction is a column of its row
(``transactions.origin_request_id``), written by the INSERT itself, so the
worker's later log lines about it carry the purchase request's id
(``app.observability.context.transaction_context``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.util import identity_key

from app.observability import metrics

log = logging.getLogger("billing.transitions")
_PENDING = "observability_transitions"


@dataclass(frozen=True)
class Seen:
    transaction_id: str
    from_status: str | None
    to_status: str
    source: str
    since_created_s: float | None


def install() -> None:
    if event.contains(Session, "before_flush", _note_new_events):
        return
    event.listen(Session, "before_flush", _note_new_events)
    event.listen(Session, "after_commit", _count_committed)
    event.listen(Session, "after_soft_rollback", _forget)


def _note_new_events(session: Session, _flush_context: object, _instances: object) -> None:
    from app.billing.models import Transaction, TransactionEvent

    for obj in session.new:
        if not isinstance(obj, TransactionEvent):
            continue
        since = None
        tx = session.identity_map.get(identity_key(Transaction, obj.transaction_id))
        # Only a loaded value: reading an expired attribute here would query mid-flush.
        created_at = tx.__dict__.get("created_at") if tx is not None else None
        if obj.from_status is not None and created_at is not None:
            recorded: datetime | None = obj.created_at
            moment = recorded if recorded is not None else datetime.now(UTC)
            since = (moment - created_at).total_seconds()
        session.info.setdefault(_PENDING, []).append(
            Seen(str(obj.transaction_id), obj.from_status, obj.to_status, obj.source, since)
        )


def _count_committed(session: Session) -> None:
    count_committed(session.info.pop(_PENDING, []))


def count_committed(seen: list[Seen]) -> None:
    """Count and log transitions that are committed: the session's, at its COMMIT, or
    one a statement sent alone in autocommit wrote (``app.db.write_alone``)."""
    for item in seen:
        try:
            origin = item.from_status or "none"
            metrics.TRANSITIONS.labels(origin, item.to_status, item.source).inc()
            if item.from_status == "pending" and item.since_created_s is not None:
                metrics.TIME_TO_SETTLE.labels(item.to_status).observe(
                    max(item.since_created_s, 0.0)
                )
            log.info(
                "transaction %s: %s -> %s (%s)",
                item.transaction_id,
                item.from_status or "none",
                item.to_status,
                item.source,
                extra={
                    "transaction_id": item.transaction_id,
                    "from_status": item.from_status,
                    "to_status": item.to_status,
                    "source": item.source,
                },
            )
        except Exception:  # observability must never fail a committed change
            log.exception("could not record a transaction transition")


def _forget(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)
