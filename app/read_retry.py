"""A read whose database connection died is tried once more, on a fresh connection.

When PgBouncer or PostgreSQL restarts (or a backend is killed), every pooled
connection of every process is dead, and each process finds out on its next
statement. SQLAlchemy then invalidates the pool, so the next checkout connects
anew. A read-only endpoint (the status poll, lists, a stream's first read) changes
nothing, so it is simply run again once: the buyer gets the answer instead of a 503.
A write is never retried here: it answers 503 with ``Retry-After`` (app/errors.py),
its transaction rolled back by PostgreSQL with the connection, and the client's
retry (with its Idempotency-Key) does it once. If the second try fails too, the
read answers 503 like a write.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import exc as sa_exc

from app.errors import database_unavailable
from app.observability import metrics

log = logging.getLogger(__name__)
T = TypeVar("T")


def once_more_on_lost_connection(run: Callable[[], T]) -> T:
    try:
        return run()
    except sa_exc.DBAPIError as err:
        if not database_unavailable(err):
            raise
        log.warning(
            "read lost its database connection (%s); trying once more on a fresh one",
            err.orig.__class__.__name__ if err.orig else err.__class__.__name__,
        )
    try:
        result = run()
    except sa_exc.DBAPIError as err:
        if database_unavailable(err):
            metrics.DB_READ_RETRIES.labels("failed").inc()
        raise
    metrics.DB_READ_RETRIES.labels("answered").inc()
    return result
