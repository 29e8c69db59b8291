"""The transaction gauges ``/metrics`` reads from PostgreSQL at scrape time."""

from __future__ import annotations

from sqlalchemy import text

from app.extensions import db
from app.observability import metrics

# One statement over the pending rows (the partial index ix_transactions_pending_due
# covers them) plus the needs_review rows.
_GAUGES = text(
    "SELECT count(*) FILTER (WHERE status = 'pending'),"
    " coalesce(extract(epoch FROM clock_timestamp() - min(created_at)"
    " FILTER (WHERE status = 'pending')), 0),"
    " count(*) FILTER (WHERE status = 'needs_review')"
    " FROM transactions WHERE status IN ('pending', 'needs_review')"
)


def read_transaction_gauges() -> dict[str, float]:
    pending, oldest_age, needs_review = db.session.execute(_GAUGES).one()
    return {
        metrics.PENDING: pending,
        metrics.OLDEST_PENDING_AGE: float(oldest_age),
        metrics.NEEDS_REVIEW: needs_review,
    }
