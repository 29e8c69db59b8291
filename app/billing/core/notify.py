"""Announce a transaction's status change to the streams watching it.

The notice is only the transaction id: a stream re-reads the row from PostgreSQL,
so a notice can never carry a state that was not committed, and a lost notice
costs latency (the stream's fallback read), never correctness.

A settle batch (``app.billing.settle.batch_check``) settles dozens of transactions one
after another; inside :func:`batched_notices` their notices leave in pipelines
of up to ``BATCH_NOTICES`` instead of one Redis round trip each: single
publishes were a large share of the worker's CPU per settle (docs/PERFORMANCE.md,
"Figures behind the code's design choices"). A notice then waits for at most that
many more settles.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import redis
from flask import current_app

from app.db import after_commit
from app.extensions import get_redis
from app.observability import metrics

log = logging.getLogger(__name__)

BATCH_NOTICES = 10
# The notices of the enclosing batched_notices() block; None outside one.
_held: ContextVar[list[uuid.UUID] | None] = ContextVar("push_notices_held", default=None)


def announce_after_commit(transaction_id: uuid.UUID) -> None:
    """Publish the notice once the current database transaction commits."""
    after_commit(lambda: publish(transaction_id))


def publish(transaction_id: uuid.UUID) -> None:
    held = _held.get()
    if held is None:
        _publish_all([transaction_id])
        return
    held.append(transaction_id)
    if len(held) >= BATCH_NOTICES:
        _publish_all(held)
        held.clear()


@contextmanager
def batched_notices() -> Iterator[None]:
    """Hold the notices published inside the block and send them in pipelines;
    whatever is left goes out when the block ends, also on an error."""
    token = _held.set([])
    try:
        yield
    finally:
        held = _held.get() or []
        _held.reset(token)
        _publish_all(held)


def _publish_all(transaction_ids: list[uuid.UUID]) -> None:
    if not transaction_ids:
        return
    channel = current_app.config["PUSH_CHANNEL"]
    try:
        pipe = get_redis().pipeline(transaction=False)
        for transaction_id in transaction_ids:
            pipe.publish(channel, str(transaction_id))
        pipe.execute()
        metrics.PUSH_NOTICES.labels("published").inc(len(transaction_ids))
    except redis.RedisError as exc:
        metrics.PUSH_NOTICES.labels("failed").inc(len(transaction_ids))
        # Streams notice the broken subscription and read PostgreSQL meanwhile.
        log.warning(
            "%d status notice(s) not published (%s): %s",
            len(transaction_ids),
            ", ".join(str(t) for t in transaction_ids),
            exc,
        )
