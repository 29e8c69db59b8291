"""The state a stream sends: the status body and an id that grows with every change."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from app.billing.core.models import Transaction, TransactionEvent
from app.billing.core.status import TxStatus
from app.billing.schemas import status_out
from app.extensions import db

# What a waiting buyer waits for. ``needs_review`` is not among them: an operator
# resolves it, and the page keeps showing it until then.
FINAL = frozenset(
    {
        TxStatus.COMPLETED,
        TxStatus.FAILED,
        TxStatus.EXPIRED,
        TxStatus.CANCELED,
        TxStatus.REFUNDED,
    }
)


@dataclass(frozen=True)
class Snapshot:
    # The audit log's last event id for this transaction: every status change
    # appends one, so it grows with every change and never repeats.
    event_id: int
    status: str
    poll_interval_s: int
    body: str  # the JSON of GET /api/billing/transactions/<id>
    # When Kaspi stops taking the payment: Kaspi may move it without any status
    # change, and the buyer must see that too (``newer_than``).
    link_expires_at: datetime | None = None

    def newer_than(self, earlier: Snapshot) -> bool:
        """Something a waiting buyer sees changed (the status, or the link's end, which
        Kaspi may move without a status change), and not older than ``earlier``.

        A group's re-read that began before a client's own first read may return an
        older state, which that client must not be sent after the newer one (a
        transaction's events are appended under its row lock, so their ids grow in the
        order of its changes).
        """
        if self.event_id != earlier.event_id:
            return self.event_id > earlier.event_id
        return self.link_expires_at != earlier.link_expires_at

    @property
    def final(self) -> bool:
        """Nothing will change any more that a waiting buyer cares about.

        A closed transaction may still be completed by a late payment days later
        (the late-payment sweep); a buyer's page learns that on its next visit.
        """
        return self.status in FINAL


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
        link_expires_at=tx.provider_expires_at,
    )
