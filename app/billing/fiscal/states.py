"""The one status path of fiscal receipts: owed (``pending``) → ``issued``.

A receipt row is created here from the outbox's money facts (:func:`owe_receipts`)
and marked issued here (:func:`mark_issued`), with its ``receipt.issued`` webhook
event in the same database transaction. Nothing else writes a receipt's state
(tests/unit/test_status_path.py).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CursorResult, text

from app.billing.fiscal.models import Receipt
from app.billing.fiscal.register import IssuedCheck
from app.extensions import db
from app.state_machine import TransitionTable
from app.webhooks import outbox
from app.webhooks.catalogue import EventType, transaction_key
from app.webhooks.outbox import money_text


class ReceiptState(StrEnum):
    PENDING = "pending"
    ISSUED = "issued"


PENDING, ISSUED = ReceiptState.PENDING, ReceiptState.ISSUED

RECEIPT_MOVES: TransitionTable[ReceiptState] = TransitionTable(
    "fiscal receipt", {PENDING: frozenset({ISSUED}), ISSUED: frozenset()}
)

# A sale receipt for each completed transaction that has none, a return receipt for
# each refund fact, tied to its transaction's sale receipt. The external number
# (the register's idempotency key) is derived from the fact's id: the same on every
# attempt, by every worker. A completion told twice (a transaction resolved out of
# review) finds the sale receipt it already has; ON CONFLICT covers a race of two
# sweeps on one fact. A receipt is due from the moment its money moved, so every
# round that sees the fact committed finds it due.
_OWE_SALES = text(
    """
    INSERT INTO fiscal_receipts
        (event_id, transaction_id, kind, amount, currency, external_number, state,
         attempts, next_attempt_at, offline, fact_at)
    SELECT e.id, t.id, 'sale', CAST(e.data->>'amount' AS numeric), e.data->>'currency',
           CAST(CAST(md5('fiscal:' || e.id) AS uuid) AS text), :pending, 0, e.created_at,
           false, e.created_at
    FROM outbox_events e
    JOIN transactions t ON t.id = CAST(e.data->>'transaction_id' AS uuid)
    WHERE e.type = :completed AND e.created_at >= :since
      AND CAST(e.data->>'amount' AS numeric) > 0
      AND NOT EXISTS (
          SELECT 1 FROM fiscal_receipts r
          WHERE r.transaction_id = CAST(e.data->>'transaction_id' AS uuid) AND r.kind = 'sale')
    ORDER BY e.created_at
    ON CONFLICT DO NOTHING
    """
)
# Money received and returned with no completion between (a late payment refunded by
# policy: closed → refunded) is still a sale and a return: the sale receipt is owed
# from the refund fact itself, under its own id ('s' + the fact's id).
_OWE_SALES_OF_REFUNDS = text(
    """
    INSERT INTO fiscal_receipts
        (event_id, transaction_id, kind, amount, currency, external_number, state,
         attempts, next_attempt_at, offline, fact_at)
    SELECT 's' || e.id, t.id, 'sale', CAST(e.data->>'amount' AS numeric), e.data->>'currency',
           CAST(CAST(md5('fiscal:s' || e.id) AS uuid) AS text), :pending, 0, e.created_at,
           false, e.created_at
    FROM outbox_events e
    JOIN transactions t ON t.id = CAST(e.data->>'transaction_id' AS uuid)
    WHERE e.type = :refunded AND e.created_at >= :since
      AND CAST(e.data->>'amount' AS numeric) > 0
      AND NOT EXISTS (
          SELECT 1 FROM outbox_events c
          WHERE c.ordering_key = e.ordering_key AND c.type = :completed)
      AND NOT EXISTS (
          SELECT 1 FROM fiscal_receipts r WHERE r.transaction_id = t.id AND r.kind = 'sale')
    ORDER BY e.created_at
    ON CONFLICT DO NOTHING
    """
)
_OWE_RETURNS = text(
    """
    INSERT INTO fiscal_receipts
        (event_id, transaction_id, kind, amount, currency, external_number, sale_receipt_id,
         state, attempts, next_attempt_at, offline, fact_at)
    SELECT e.id, sale.transaction_id, 'return', CAST(e.data->>'refund_amount' AS numeric),
           e.data->>'currency', CAST(CAST(md5('fiscal:' || e.id) AS uuid) AS text), sale.id,
           :pending, 0, e.created_at, false, e.created_at
    FROM outbox_events e
    JOIN fiscal_receipts sale
      ON sale.transaction_id = CAST(e.data->>'transaction_id' AS uuid) AND sale.kind = 'sale'
    WHERE e.type = :refunded AND e.created_at >= :since
      AND CAST(e.data->>'refund_amount' AS numeric) > 0
      AND NOT EXISTS (SELECT 1 FROM fiscal_receipts r WHERE r.event_id = e.id)
    ORDER BY e.created_at
    ON CONFLICT DO NOTHING
    """
)


def owe_receipts(*, since: datetime) -> int:
    """Write a pending receipt for every money fact since ``since`` that has none;
    answers how many were written."""
    params = {
        "pending": PENDING.value,
        "since": since,
        "completed": EventType.TRANSACTION_COMPLETED.value,
        "refunded": EventType.TRANSACTION_REFUNDED.value,
    }
    written = 0
    # Sales first: a return is tied to its transaction's sale receipt.
    for statement in (_OWE_SALES, _OWE_SALES_OF_REFUNDS, _OWE_RETURNS):
        result: CursorResult[Any] = db.session.execute(statement, params)  # type: ignore[assignment]
        written += int(result.rowcount or 0)
    return written


def mark_issued(receipt: Receipt, issued: IssuedCheck, *, tx_data: dict[str, Any]) -> None:
    """The locked, pending ``receipt`` was issued: record the register's answer and
    tell the platform (``receipt.issued``) in the same database transaction."""
    RECEIPT_MOVES.check(receipt.state, ISSUED)
    receipt.state = ISSUED
    receipt.fiscal_number = issued.fiscal_number
    receipt.ticket_url = issued.ticket_url
    receipt.issued_at = issued.issued_at
    receipt.offline = issued.offline
    receipt.register_reply = dict(issued.raw)
    receipt.last_error = None
    data = {
        "receipt_id": str(receipt.id),
        "transaction_id": str(receipt.transaction_id),
        "kind": receipt.kind,
        "amount": money_text(receipt.amount),
        "currency": receipt.currency,
        "fiscal_number": issued.fiscal_number,
        "ticket_url": issued.ticket_url,
        "issued_at": issued.issued_at.isoformat(),
        "offline": issued.offline,
        "user_id": tx_data.get("user_id"),
        "club_id": tx_data.get("club_id"),
    }
    outbox.emit(
        EventType.RECEIPT_ISSUED,
        transaction_key(receipt.transaction_id),
        data,
        now=issued.issued_at,
    )
