"""The fiscal gauges ``/metrics`` reads from PostgreSQL at scrape time.

The oldest unfiscalized sale counts from the money fact, not from the receipt
row: a completion the fiscal worker never saw (worker down) ages too. Facts are
read through ``ix_outbox_events_created_at`` over ``FISCAL_LOOKBACK_DAYS``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import text

from app.extensions import db
from app.observability import metrics

_GAUGES = text(
    """
    SELECT
      (SELECT coalesce(extract(epoch FROM clock_timestamp() - min(e.created_at)), 0)
         FROM outbox_events e
        WHERE e.type = 'transaction.completed' AND e.created_at >= :since
          AND CAST(e.data->>'amount' AS numeric) > 0
          AND NOT EXISTS (
              SELECT 1 FROM fiscal_receipts r
               WHERE r.transaction_id = CAST(e.data->>'transaction_id' AS uuid)
                 AND r.kind = 'sale' AND r.state = 'issued')),
      (SELECT count(*) FROM fiscal_receipts WHERE state = 'pending'),
      (SELECT count(*) FROM fiscal_receipts WHERE state = 'pending' AND held_at IS NOT NULL)
    """
)


def gauge_reader(app: Flask) -> Callable[[], dict[str, float]]:
    def read() -> dict[str, float]:
        if not app.config.get("FISCAL_BASE_URL"):
            return {metrics.FISCAL_ENABLED: 0}
        since = datetime.now(UTC) - timedelta(days=int(app.config["FISCAL_LOOKBACK_DAYS"]))
        oldest, pending, held = db.session.execute(_GAUGES, {"since": since}).one()
        return {
            metrics.FISCAL_ENABLED: 1,
            metrics.FISCAL_OLDEST_UNFISCALIZED_SALE: float(oldest),
            metrics.FISCAL_PENDING: pending,
            metrics.FISCAL_HELD: held,
        }

    return read
