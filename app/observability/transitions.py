"""Transaction transitions seen from the audit log, counted once they are committed.

Every status change appends a ``TransactionEvent`` (the status machine's rule),
so watching those rows is watching every transition, whoever made it, without
touching the status machine. New rows are noted at flush time in
``session.info``; after COMMIT they are counted, timed and logged, and on a
rollback they are forgotten — a refused or rolled-back change is never counted.
A transition written by one statement sent alone (the intent's creation, a paid
settle) is counted by its caller once the statement has returned: committed.

A creation (from nothing to pending) made inside an HTTP request also records
which request made it (in Redis, for the pending period, written off the
request's path), so the worker's later log lines about that transaction can
carry the purchase request's id.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import redis
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.util import identity_key

from app.observability import context, metrics

log = logging.getLogger("billing.transitions")
_PENDING = "observability_transitions"
ORIGIN_KEY = "billing:origin-request:"
ORIGIN_TTL_S = 6 * 3600
# How long the origin writer gathers ids before a round trip: far below the first
# poll of a transaction (POLL_INITIAL_DELAY_S), which is when the worker reads one.
ORIGIN_BATCH_WAIT_S = 0.05


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
    """Best effort: Redis may be down, and then only the correlation is lost.

    Handed to the process's origin writer: the request does not wait on Redis.
    """
    from flask import has_app_context

    from app.extensions import get_redis

    if not has_app_context():
        return
    _writer.put(get_redis(), [(ORIGIN_KEY + tx, request_id) for tx in transaction_ids])


class OriginWriter:
    """Writes origin request ids to Redis from a thread of its own.

    A purchase should not wait on a round trip to Redis for a log correlation: it
    queues the ids and returns, and the thread sends whatever has piled up in one
    pipeline (a burst of purchases costs one round trip). The worker asks for an
    id when it first polls the transaction, long after it was queued. Ids still
    queued when the process ends are written by :meth:`flush` at exit; ones a
    killed process held are lost, as when Redis is down.
    """

    def __init__(self) -> None:
        self._reset()
        # A forked child (a gunicorn worker) starts with no thread and nothing queued.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._queued = threading.Condition(self._lock)
        self._items: list[tuple[redis.Redis, str, str]] = []
        self._started = False

    def put(self, client: redis.Redis, items: list[tuple[str, str]]) -> None:
        with self._lock:
            self._items.extend((client, key, value) for key, value in items)
            if not self._started:
                self._started = True
                threading.Thread(target=self._run, name="origin-writer", daemon=True).start()
            self._queued.notify()

    def flush(self) -> None:
        """Write what is queued, in the calling thread."""
        with self._lock:
            items, self._items = self._items, []
        _write(items)

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._items:
                    self._queued.wait()
            # Let the purchases of the next moments join this round trip.
            time.sleep(ORIGIN_BATCH_WAIT_S)
            with self._lock:
                items, self._items = self._items, []
            _write(items)


def _write(items: list[tuple[redis.Redis, str, str]]) -> None:
    clients: dict[int, tuple[redis.Redis, list[tuple[str, str]]]] = {}
    for client, key, value in items:
        clients.setdefault(id(client), (client, []))[1].append((key, value))
    for client, pairs in clients.values():
        try:
            pipe = client.pipeline(transaction=False)
            for key, value in pairs:
                pipe.set(key, value, ex=ORIGIN_TTL_S)
            pipe.execute()
        except Exception as exc:
            log.debug("origin request ids not recorded: %s", exc)


_writer = OriginWriter()
atexit.register(_writer.flush)
