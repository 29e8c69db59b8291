"""The operator's search: every buyer's transactions, newest first, in cursor pages.

The same keyset pages as a buyer's history (:mod:`app.billing.core.cursor`), with
filters a buyer does not have: the user, the Kaspi payment id, the club, a period.
"""

from __future__ import annotations

from sqlalchemy import select

from app.billing.core.cursor import transaction_page
from app.billing.core.models import Transaction
from app.billing.operator.bodies import OpsPageOut, OpsTransactionOut, OpsTransactionsQuery, cents


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
    page, next_cursor = transaction_page(stmt, query.cursor, query.limit)
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
