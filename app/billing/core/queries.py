"""Reads for the billing API: a user only ever sees their own rows."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from sqlalchemy import Row, bindparam, select

from app.billing.core.models import Credit, Transaction
from app.db import read_first
from app.domain_errors import NotFound
from app.extensions import db

# The transaction columns each response body reads (``app.billing.schemas``: the
# common part and the payment; the status body adds its own): a statement whose row
# feeds one of them selects only these, since the driver converts every column.
STATE_COLUMNS = (
    "id",
    "status",
    "product_code",
    "quantity",
    "amount",
    "currency",
    "club_id",
    "event_id",
    "created_at",
    "expires_at",
    "provider",
    "provider_payment_id",
    "payment_url",
    "poll_interval_s",
    "provider_expires_at",
)
STATUS_COLUMNS = (*STATE_COLUMNS, "updated_at", "settled_at", "refunded_amount")


def transaction_not_found() -> NotFound:
    return NotFound("TRANSACTION_NOT_FOUND", "Transaction not found")


# Built once: the status poll is the hottest read. Core columns, not an ORM entity:
# a poll needs plain values, not an object in the identity map; and only the
# columns the status body shows (STATUS_COLUMNS), not the poll's
# sweep-bookkeeping ones.
_TRANSACTIONS = Transaction.__table__
_OWN_TRANSACTION = select(*(_TRANSACTIONS.c[name] for name in STATUS_COLUMNS)).where(
    _TRANSACTIONS.c.id == bindparam("transaction_id"),
    _TRANSACTIONS.c.user_id == bindparam("user_id"),
)


def own_transaction(user_id: str, transaction_id: uuid.UUID) -> Transaction:
    """One indexed read by primary key; another user's id answers exactly like a missing one."""
    tx = db.session.scalar(
        select(Transaction).where(Transaction.id == transaction_id, Transaction.user_id == user_id)
    )
    if tx is None:
        raise transaction_not_found()
    return tx


def own_transaction_row(user_id: str, transaction_id: uuid.UUID) -> Row[Any]:
    """``own_transaction`` for reads that only show it (the status poll): the
    status body's columns with a ``Transaction``'s attribute names, no ORM object."""
    row = read_first(_OWN_TRANSACTION, {"transaction_id": transaction_id, "user_id": user_id})
    if row is None:
        raise transaction_not_found()
    return row


def credits_of(user_id: str) -> tuple[list[Credit], dict[str, int]]:
    credits = list(
        db.session.scalars(
            select(Credit)
            .where(Credit.user_id == user_id)
            .order_by(Credit.created_at, Credit.sequence)
        )
    )
    available = Counter(c.credit_code for c in credits if c.status == "available")
    return credits, dict(available)
