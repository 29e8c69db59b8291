"""Announce a transaction's status change to the streams watching it.

The notice is only the transaction id: a stream re-reads the row from PostgreSQL,
so a notice can never carry a state that was not committed, and a lost notice
costs latency (the stream's fallback read), never correctness.
"""

from __future__ import annotations

import logging
import uuid

import redis
from flask import current_app

from app.db import after_commit
from app.extensions import get_redis
from app.observability import metrics

log = logging.getLogger(__name__)


def announce_after_commit(transaction_id: uuid.UUID) -> None:
    """Publish the notice once the current database transaction commits."""
    after_commit(lambda: publish(transaction_id))


def publish(transaction_id: uuid.UUID) -> None:
    try:
        get_redis().publish(current_app.config["PUSH_CHANNEL"], str(transaction_id))
        metrics.PUSH_NOTICES.labels("published").inc()
    except redis.RedisError as exc:
        metrics.PUSH_NOTICES.labels("failed").inc()
        # Streams notice the broken subscription and read PostgreSQL meanwhile.
        log.warning("status notice for %s not published: %s", transaction_id, exc)
