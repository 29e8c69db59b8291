"""Reads for the billing API: a user only ever sees their own rows."""

from __future__ import annotations

import uuid
from collections import Counter

from sqlalchemy import select

from app.billing.models import Credit, Transaction
from app.domain_errors import NotFound
from app.extensions import db


def transaction_not_found() -> NotFound:
    return NotFound("TRANSACTION_NOT_FOUND", "Transaction not found")


def own_transaction(user_id: str, transaction_id: uuid.UUID) -> Transaction:
    """One indexed read by primary key; another user's id answers exactly like a missing one."""
    tx = db.session.scalar(
        select(Transaction).where(Transaction.id == transaction_id, Transaction.user_id == user_id)
    )
    if tx is None:
        raise transaction_not_found()
    return tx


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
