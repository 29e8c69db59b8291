"""While a buyer watches, check their pending transaction with Kaspi sooner.

The poll sweep backs off (up to ``POLL_MAX_DELAY_S``) between checks of a pending
transaction. A watched one is brought forward to ``now + poll_interval_s`` (Kaspi's
``StatusPollingInterval``) whenever it is due later than that.

Why this never asks Kaspi faster than its interval: the sweep claims a row at T
and sets ``next_poll_at`` to T + backoff; any hurry after T sets it to at least
its own ``clock_timestamp()`` + interval, which is later than T + interval. A
hurry racing a claim waits on the claim's row lock (the claim is
``FOR UPDATE SKIP LOCKED``, app/billing/core/locks.py) and re-evaluates its WHERE against the
new ``next_poll_at``, with ``clock_timestamp()`` read after the wait. A stream
that hurries every half interval bounds "paid at Kaspi" to "seen here" by about
1.5 intervals plus one sweep period.

Lock order: it touches ``transactions`` rows only, the first lock in the order,
and holds nothing else, in a step of its own. Rows are updated in id order.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection
from typing import Any, cast

from flask import Flask
from sqlalchemy import CursorResult, Uuid, any_, bindparam, func, update
from sqlalchemy.dialects.postgresql import ARRAY

from app.billing.core.models import Transaction
from app.billing.core.status import TxStatus
from app.db import step
from app.extensions import db

log = logging.getLogger(__name__)

_INTERVAL = func.make_interval(0, 0, 0, 0, 0, 0, Transaction.poll_interval_s)


def hurry_checks(transaction_ids: Collection[str]) -> int:
    """Bring each pending transaction's next Kaspi check to ``now + interval`` if later.

    One conditional UPDATE for all of them; answers how many moved.

    A no-op for a row that is not pending or is due soon enough already. The ids go
    as one ``uuid[]`` parameter: with 10,000 watched transactions, an ``IN`` list of
    10,000 bound UUIDs took the stream process's one CPU for hundreds of
    milliseconds every second (each stream's notices waited behind it).
    """
    if not transaction_ids:
        return 0
    target = func.clock_timestamp() + _INTERVAL
    ids = bindparam("ids", sorted(transaction_ids), type_=ARRAY(Uuid(as_uuid=False)))
    result = db.session.execute(
        update(Transaction)
        .where(
            Transaction.id == any_(ids),
            Transaction.status == TxStatus.PENDING,
            Transaction.next_poll_at > target,
        )
        # updated_at keeps its value: the status body must not change without a change.
        .values(next_poll_at=target, updated_at=Transaction.updated_at)
        .execution_options(synchronize_session=False)
    )
    # An UPDATE returns a CursorResult; Session.execute is typed with the general Result.
    return cast("CursorResult[Any]", result).rowcount


def start_hurrier(
    app: Flask, watched: Callable[[], Collection[str]], every_s: float
) -> threading.Thread:
    """Hurry whatever this process's streams watch, every ``every_s`` seconds."""

    def loop() -> None:
        while True:
            time.sleep(every_s)
            ids = watched()
            if not ids:
                continue
            try:
                with app.app_context(), step():
                    hurry_checks(ids)
            except Exception:
                # The sweep still checks these on its own schedule; only slower.
                log.exception("hurrying watched transactions failed")

    thread = threading.Thread(target=loop, name="push-hurry", daemon=True)
    thread.start()
    return thread
