"""When a pending transaction is asked about next, and which ones are due now.

The sweeps claim in the database's own row locks (``SKIP LOCKED``), so two beats
or several workers never claim the same row at once; a claimed check that is
lost (an enqueue that failed, a worker that died) simply comes due again.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import Connection, CursorResult, update
from sqlalchemy.orm import scoped_session

from app.billing.core import locks
from app.billing.core.models import Transaction
from app.billing.core.status import TxStatus
from app.observability import metrics


def next_poll_delay(attempts: int) -> timedelta:
    """Exponential backoff from the first delay up to the ceiling."""
    cfg = current_app.config
    delay = cfg["POLL_INITIAL_DELAY_S"] * (2 ** max(0, attempts - 1))
    return timedelta(seconds=min(delay, cfg["POLL_MAX_DELAY_S"]))


def claim_batches(now: datetime) -> list[list[uuid.UUID]]:
    """Lease due pending transactions (one statement) and split them into batches."""
    cfg = current_app.config
    lease_until = now + timedelta(seconds=cfg["POLL_CLAIM_LEASE_S"])
    claimed = locks.claim_due_pending(now, cfg["SWEEP_CLAIM_LIMIT"], lease_until)
    for row in claimed:
        metrics.SWEEP_LAG.observe(max(0.0, (now - row.due_at).total_seconds()))
    size = max(1, cfg["CHECK_BATCH_SIZE"])
    ids = [row.id for row in claimed]
    return [ids[n : n + size] for n in range(0, len(ids), size)]


def claim_stale(now: datetime, limit: int = 200) -> list[uuid.UUID]:
    """Pending transactions past their expiry: make them due for a final check now."""
    ids = []
    for tx in locks.claim_expired_pending_transactions(now, limit):
        tx.next_poll_at = now + next_poll_delay(1)
        ids.append(tx.id)
    return ids


def provider_link_closed(
    provider_expires_at: datetime | None, our_expires_at: datetime, asked_at: datetime
) -> bool:
    """Whether an answer without a payment, asked for at ``asked_at``, is final.

    The provider's ExpireDate decides: once it (plus a margin for a payment
    confirmed at the last moment, and for clock skew) has passed, nobody can pay
    any more, so the transaction expires at once, whatever our own TTL says. Only
    when the provider named no expiry does our TTL stand in for it. A payment
    confirmed later anyway is the late-payment sweep's to find.
    """
    margin = timedelta(seconds=current_app.config["PROVIDER_EXPIRY_MARGIN_S"])
    if provider_expires_at is not None:
        return asked_at > provider_expires_at + margin
    return asked_at > our_expires_at


def reschedule(
    executor: Connection | scoped_session[Any],
    transaction_id: uuid.UUID,
    *,
    poll_attempts: int,
    poll_interval_s: int,
    asked_at: datetime,
    provider_expires_at: datetime | None = None,
) -> bool:
    """Next check: the backoff, but never sooner than Kaspi's polling interval (its
    StatusPollingInterval, the floor between two checks of one payment); and
    Kaspi's ExpireDate when it moved it. Answers whether the row was still pending."""
    delay = max(next_poll_delay(poll_attempts), timedelta(seconds=poll_interval_s))
    values: dict[str, Any] = {"next_poll_at": asked_at + delay}
    if provider_expires_at is not None:
        values["provider_expires_at"] = provider_expires_at
    result = executor.execute(
        update(Transaction)
        .where(Transaction.id == transaction_id, Transaction.status == TxStatus.PENDING)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(cast(CursorResult[Any], result).rowcount)
