"""The row-lock order every domain follows, and how a locked row is read.

Each domain keeps its own ``SELECT … FOR UPDATE`` statements in its ``locks``
module (``app.billing.core.locks``, ``app.clubs.locks``, ``app.events.locks``,
``app.webhooks.locks``, ``app.billing.fiscal.locks``);
this module holds what they share. A code path that needs several locks takes
them in :data:`LOCK_ORDER`, so two paths can never wait on each other in a cycle
(no deadlocks between settlement, refund, publish and the subscription lifecycle).
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import ScalarResult, Select

from app.extensions import db

# Tables in the order their rows are locked, first to last.
LOCK_ORDER = (
    "transactions",
    "refund_attempts",
    "events",
    "clubs",
    "club_subscriptions",
    "billing_credits",
    # A receipt's failure takes its transaction first (the receipt_failed hold).
    "fiscal_receipts",
    # The outbox's sequences are taken last, just before COMMIT, in the order of their
    # keys (app.webhooks.outbox); the relay's own work locks deliveries, then endpoints.
    "outbox_sequences",
    "webhook_deliveries",
    "webhook_endpoints",
)

_Row = TypeVar("_Row")


# A locked row must be read as the lock sees it: without populate_existing an
# object already in the session keeps its old attribute values.
def fresh_one(stmt: Select[tuple[_Row]]) -> _Row | None:
    return db.session.scalar(stmt.execution_options(populate_existing=True))


def fresh_all(stmt: Select[tuple[_Row]]) -> ScalarResult[_Row]:
    return db.session.scalars(stmt.execution_options(populate_existing=True))
