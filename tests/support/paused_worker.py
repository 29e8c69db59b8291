"""The real Celery app, with settlement held open after its writes: for kill -9 tests.

Started as ``celery -A tests.support.paused_worker worker``. The pause is patched in
here, in the test tree; production code has no test branch. It runs right after
a settle's writes and before their COMMIT, marks a Redis key so the test knows the
worker is mid-settlement, then holds the transaction open:

- the locked path: after the grants are flushed, before the task's COMMIT;
- the one-statement path of a paid credit purchase: its statement runs in a
  transaction here instead of alone, which is what a worker that dies while
  PostgreSQL still runs that statement leaves behind (nothing committed).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from app.billing.core.models import Transaction
from app.billing.settle import answer, settlement
from app.extensions import db, get_redis
from workers import celery, flask_app

__all__ = ["celery", "flask_app"]

PAUSE_S = float(os.environ.get("TEST_SETTLE_PAUSE_S", "30"))
_grant = settlement.grant_entitlements
_complete = settlement.complete_credit_purchase


def _pause(transaction_id: object) -> None:
    get_redis().set(f"test:settling:{transaction_id}", "1", ex=60)
    time.sleep(PAUSE_S)


def _grant_then_pause(tx: Transaction, now: datetime) -> int:
    granted = _grant(tx, now)
    db.session.flush()
    _pause(tx.id)
    return granted


@contextmanager
def _in_a_transaction() -> Iterator[Connection]:
    with db.engine.begin() as conn:
        yield conn


def _complete_then_pause(conn: Connection, terms: Any, *args: Any, **kwargs: Any) -> Any:
    result = _complete(conn, terms, *args, **kwargs)
    _pause(terms.id)
    return result


settlement.grant_entitlements = _grant_then_pause
settlement.complete_credit_purchase = _complete_then_pause
answer.write_alone = _in_a_transaction
