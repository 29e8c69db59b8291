"""Transaction transitions seen from the audit log, counted once they are committed.

Every status change appends a ``TransactionEvent`` (the status machine's rule),
so watching those rows is watching every transition, whoever made it, without
touching the status machine. New rows are noted at flush time in
``session.info``; after COMMIT they are counted, timed and logged, and on a
rollback they are forgotten — a refused or rolled-back change is never counted.

A creation (from nothing to pending) made inside an HTTP request also records
which request made it (in Redis, for the pending period), so the worker's later
log lines about that transaction can carry the purchase request's id.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.util import identity_key

from app.observability import context, metrics

log = logging.getLogger("billing.transitions")
_PENDING = "observability_transitions"
ORIGIN_KEY = "billing:origin-request:"
ORIGIN_TTL_S = 6 * 3600


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


def note_written(session: Session, seen: Seen) -> None:
    """A transition written by a Core statement (no ``TransactionEvent`` object for the
    flush hook to see): counted and logged at COMMIT like the others, or forgotten."""
    session.info.setdefault(_PENDING, []).append(seen)


def _count_committed(session: Session) -> None:
    seen: list[Seen] = session.info.pop(_PENDING, [])
    created_here = []
    for item in seen:
        try:
            origin = item.from_status or "none"
            metrics.TRANSITIONS.labels(origin, item.to_status, item.source).inc()
            if item.from_status == "pending" and item.since_created_s is not None:
                metrics.TIME_TO_SETTLE.labels(item.to_status).observe(
                    max(item.since_created_s, 0.0)
                )
            if item.from_status is None:
                created_here.append(item.transaction_id)
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
    request_id = context.get("request_id")
    if created_here and request_id:
        remember_origin(created_here, request_id)


def _forget(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)


def remember_origin(transaction_ids: list[str], request_id: str) -> None:
    """Best effort: Redis may be down, and then only the correlation is lost."""
    from flask import has_app_context

    from app.extensions import get_redis

    if not has_app_context():
        return
    try:
        pipe = get_redis().pipeline(transaction=False)
        for transaction_id in transaction_ids:
            pipe.set(ORIGIN_KEY + transaction_id, request_id, ex=ORIGIN_TTL_S)
        pipe.execute()
    except Exception as exc:
        log.debug("origin request id not recorded: %s", exc)
