"""The webhook gauges ``/metrics`` reads from PostgreSQL at scrape time."""

from __future__ import annotations

from sqlalchemy import text

from app.extensions import db
from app.observability import metrics

# Pending deliveries are few and indexed (ix_webhook_deliveries_due); dead ones
# are counted from the same table, endpoints are a handful of rows.
_GAUGES = text(
    """
    SELECT
      (SELECT coalesce(extract(epoch FROM clock_timestamp() - min(d.created_at)), 0)
         FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
        WHERE d.state = 'pending' AND e.disabled_at IS NULL),
      (SELECT count(*) FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
        WHERE d.state = 'pending' AND e.disabled_at IS NULL),
      (SELECT count(*) FROM webhook_deliveries WHERE state = 'dead'),
      (SELECT count(*) FROM webhook_endpoints WHERE disabled_at IS NOT NULL)
    """
)


def read_webhook_gauges() -> dict[str, float]:
    lag, pending, dead, disabled = db.session.execute(_GAUGES).one()
    return {
        metrics.OUTBOX_LAG: float(lag),
        metrics.WEBHOOK_PENDING: pending,
        metrics.WEBHOOK_DEAD: dead,
        metrics.WEBHOOK_ENDPOINTS_OFF: disabled,
    }
