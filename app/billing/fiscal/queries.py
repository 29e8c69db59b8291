"""The receipts a buyer sees on their transactions (the API's reads)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select

from app.billing.fiscal.models import Receipt
from app.billing.schemas import ReceiptOut
from app.extensions import db


def receipts_of(transaction_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[ReceiptOut]]:
    """Each transaction's receipts, sale first, then returns in the order they happened;
    a receipt owed and not yet issued shows with no fiscal number."""
    ids = list(transaction_ids)
    out: dict[uuid.UUID, list[ReceiptOut]] = {tx_id: [] for tx_id in ids}
    if not ids:
        return out
    rows = db.session.scalars(
        select(Receipt)
        .where(Receipt.transaction_id.in_(ids))
        .order_by(Receipt.transaction_id, Receipt.fact_at, Receipt.id)
    )
    for receipt in rows:
        out[receipt.transaction_id].append(
            ReceiptOut(
                kind=receipt.kind,  # type: ignore[arg-type]
                amount=f"{receipt.amount:.2f}",
                fiscal_number=receipt.fiscal_number,
                ticket_url=receipt.ticket_url,
                issued_at=receipt.issued_at,
                offline=receipt.offline,
            )
        )
    return out
