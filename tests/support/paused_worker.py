"""The real Celery app, with settlement held open after its writes: for kill -9 tests.

Started as ``celery -A tests.support.paused_worker worker``. The pause is patched in
here, in the test tree; production code has no test branch. It runs right after
the grants are flushed and before the task's COMMIT, marks a Redis key so the test
knows the worker is mid-settlement, then holds the transaction open.
"""

from __future__ import annotations

import os
import time
from datetime import datetime

from app.billing import settlement
from app.billing.models import Transaction
from app.extensions import db, get_redis
from workers import celery, flask_app

__all__ = ["celery", "flask_app"]

PAUSE_S = float(os.environ.get("TEST_SETTLE_PAUSE_S", "30"))
_grant = settlement.grant_entitlements


def _grant_then_pause(tx: Transaction, now: datetime) -> int:
    granted = _grant(tx, now)
    db.session.flush()
    get_redis().set(f"test:settling:{tx.id}", "1", ex=60)
    time.sleep(PAUSE_S)
    return granted


settlement.grant_entitlements = _grant_then_pause
