"""The operator's search: every buyer's transactions, newest first, in cursor pages.

The same keyset pages as a buyer's history (:mod:`app.billing.core.cursor`), with
filters a buyer does not have: the user, the Kaspi payment id, the club, a period.
"""

from __future__ import annotations

from sqlalchemy import select, tuple_

from app.billing.core.cursor import decode_cursor, encode_cursor
from app.billing.core.models import Transaction
from app.billing.operator.bodies import OpsPageOut, OpsTransactionOut, OpsTransactionsQuery, cents
from app.extensions import db


def transactions_page(query: OpsTransactionsQuery) -> OpsPageOut:
    stmt = select(Transaction)
    if query.status is not None:
        stmt = stmt.where(Transaction.status == query.status.value)
    if query.user_id is not None:
        stmt = stmt.where(Transaction.user_id == query.user_id)
    if query.payment_id is not None:
        stmt = stmt.where(Transaction.provider_payment_id == query.payment_id)
    if query.club_id is not None:
        stmt = stmt.where(Transaction.club_id == query.club_id)
    if query.from_ is not None:
        stmt = stmt.where(Transaction.created_at >= query.from_)
    if query.to is not None:
        stmt = stmt.where(Transaction.created_at < query.to)
    if query.cursor is not None:
        created_at, tx_id = decode_cursor(query.cursor)
        stmt = stmt.where(tuple_(Transaction.created_at, Transaction.id) < (created_at, tx_id))
    # One row more than asked tells whether another page exists.
    rows = list(
        db.session.scalars(
            stmt.order_by(Transaction.created_at.desc(), Transaction.id.desc()).limit(
                query.limit + 1
            )
        )
    )
    page, more = rows[: query.limit], len(rows) > query.limit
    next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if more else None
    return OpsPageOut(items=[transaction_out(tx) for tx in page], next_cursor=next_cursor)


def transaction_out(tx: Transaction) -> OpsTransactionOut:
    return OpsTransactionOut(
        transaction_id=tx.id,
        status=tx.status,
        user_id=tx.user_id,
        product_code=tx.product_code,
        quantity=tx.quantity,
        amount=cents(tx.amount),
        refunded_amount=cents(tx.refunded_amount),
        currency=tx.currency,
        club_id=tx.club_id,
        provider_payment_id=tx.provider_payment_id,
        created_at=tx.created_at,
        updated_at=tx.updated_at,
        settled_at=tx.settled_at,
    )
