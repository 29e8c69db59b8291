"""Every row lock the fiscal room takes (lock order: app/locking.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, text

from app.billing.fiscal.models import Receipt
from app.extensions import db
from app.locking import fresh_one

# Due receipts, leased in one statement: two sweeps never claim one row, and a claim
# whose worker died comes due again when its lease ends. A return waits for its
# sale receipt to be issued (a return receipt is tied to the sale's).
_CLAIM = text(
    """
    WITH due AS (
        SELECT r.id FROM fiscal_receipts r
        WHERE r.state = 'pending' AND r.next_attempt_at <= :now
          AND (r.kind = 'sale' OR EXISTS (
                SELECT 1 FROM fiscal_receipts s
                WHERE s.id = r.sale_receipt_id AND s.state = 'issued'))
        ORDER BY r.next_attempt_at, r.id
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    )
    UPDATE fiscal_receipts SET next_attempt_at = :lease_until
    FROM due WHERE fiscal_receipts.id = due.id
    RETURNING fiscal_receipts.id
    """
)


def claim_due_receipts(now: datetime, limit: int, lease_until: datetime) -> Sequence[int]:
    rows = db.session.execute(_CLAIM, {"now": now, "limit": limit, "lease_until": lease_until})
    return sorted(int(row.id) for row in rows)


def lock_receipt(receipt_id: int) -> Receipt | None:
    return fresh_one(select(Receipt).where(Receipt.id == receipt_id).with_for_update())
