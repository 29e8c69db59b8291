"""Settlement by hand (dev endpoint, CLI), through the status machine like everything else."""

from __future__ import annotations

import uuid

from app.billing.core.models import Transaction
from app.billing.core.queries import transaction_not_found
from app.billing.core.status import Source, TxStatus
from app.billing.settle.settlement import settle

OUTCOMES = {"paid": TxStatus.COMPLETED, "failed": TxStatus.FAILED}


def settle_now(transaction_id: uuid.UUID, outcome: str, *, source: Source) -> Transaction:
    """Settle in the caller's step; raises ``IllegalTransition`` (a conflict) or not-found."""
    result = settle(
        transaction_id, OUTCOMES[outcome], source=source, note=f"settled by hand ({source})"
    )
    if result.transaction is None:
        raise transaction_not_found()
    return result.transaction
