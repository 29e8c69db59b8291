"""The state a stream sends: the status body and an id that grows with every change."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select

from app.billing.models import Transaction, TransactionEvent
from app.billing.schemas import status_out
from app.billing.transitions import TxStatus
from app.extensions import db

TERMINAL = frozenset({TxStatus.FAILED, TxStatus.EXPIRED, TxStatus.REFUNDED})


@dataclass(frozen=True)
class Snapshot:
    # The audit log's last event id for this transaction: every status change
    # appends one, so it grows with every change and never repeats.
    event_id: int
    status: str
    poll_interval_s: int
    body: str  # the JSON of GET /api/billing/transactions/<id>

    @property
    def final(self) -> bool:
        """Nothing will change any more that a waiting buyer cares about.

        ``completed`` ends the wait too: the buyer has been paid for; a later
        refund is an operator's act, not something the paywall waits for.
        """
        return self.status == TxStatus.COMPLETED or self.status in TERMINAL


def read(user_id: str, transaction_id: uuid.UUID) -> Snapshot | None:
    """The caller's transaction as it is committed now; None if missing or not theirs.

    One round trip: the row and its last audit event id together.
    """
    last_event = (
        select(func.coalesce(func.max(TransactionEvent.id), 0))
        .where(TransactionEvent.transaction_id == Transaction.id)
        .scalar_subquery()
    )
    row = db.session.execute(
        select(Transaction, last_event).where(
            Transaction.id == transaction_id, Transaction.user_id == user_id
        )
    ).first()
    if row is None:
        return None
    tx, event_id = row
    return Snapshot(
        event_id=int(event_id),
        status=tx.status,
        poll_interval_s=max(1, int(tx.poll_interval_s)),
        body=status_out(tx).model_dump_json(),
    )
