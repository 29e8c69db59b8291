"""``billing receipts check``: money against receipts, per day (UTC).

- per day: money received (transactions settled that day) minus money refunded
  (refunds made that day) must equal sales minus returns fiscalized (issued
  receipts of money facts of that day);
- every transaction settled in the period has exactly one issued sale receipt.

A receipt owed but not issued yet counts as missing: the check is of what the
tax authority has seen.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import text

from app.extensions import db

_MONEY_BY_DAY = text(
    """
    WITH received AS (
        SELECT CAST(settled_at AT TIME ZONE 'UTC' AS date) AS day, sum(amount) AS amount
        FROM transactions WHERE settled_at >= :since AND amount > 0 GROUP BY 1
    ), refunded AS (
        SELECT CAST(created_at AT TIME ZONE 'UTC' AS date) AS day, sum(amount) AS amount
        FROM transaction_refunds WHERE created_at >= :since GROUP BY 1
    ), fiscal AS (
        SELECT CAST(fact_at AT TIME ZONE 'UTC' AS date) AS day,
               sum(CASE WHEN kind = 'sale' THEN amount ELSE 0 END) AS sales,
               sum(CASE WHEN kind = 'return' THEN amount ELSE 0 END) AS returns
        FROM fiscal_receipts WHERE fact_at >= :since AND state = 'issued' GROUP BY 1
    ), days AS (
        SELECT day FROM received UNION SELECT day FROM refunded UNION SELECT day FROM fiscal
    )
    SELECT days.day, coalesce(received.amount, 0) AS received,
           coalesce(refunded.amount, 0) AS refunded,
           coalesce(fiscal.sales, 0) AS sales, coalesce(fiscal.returns, 0) AS returns
    FROM days
    LEFT JOIN received USING (day) LEFT JOIN refunded USING (day) LEFT JOIN fiscal USING (day)
    ORDER BY days.day
    """
)

_SALE_RECEIPTS = text(
    """
    SELECT t.id, t.amount, t.settled_at,
           count(r.id) FILTER (WHERE r.state = 'issued') AS issued,
           max(r.last_error) AS last_error
    FROM transactions t
    LEFT JOIN fiscal_receipts r ON r.transaction_id = t.id AND r.kind = 'sale'
    WHERE t.settled_at >= :since AND t.amount > 0
    GROUP BY t.id, t.amount, t.settled_at
    HAVING count(r.id) FILTER (WHERE r.state = 'issued') <> 1
    ORDER BY t.settled_at
    """
)


@dataclass(frozen=True)
class DayDifference:
    day: date
    received: Decimal
    refunded: Decimal
    sales: Decimal
    returns: Decimal

    @property
    def difference(self) -> Decimal:
        return (self.received - self.refunded) - (self.sales - self.returns)

    def line(self) -> str:
        return (
            f"{self.day}: received {self.received:.2f} - refunded {self.refunded:.2f}"
            f" = {self.received - self.refunded:.2f}, fiscalized sales {self.sales:.2f}"
            f" - returns {self.returns:.2f} = {self.sales - self.returns:.2f}"
            f" (difference {self.difference:.2f})"
        )


@dataclass(frozen=True)
class MissingSale:
    transaction_id: uuid.UUID
    amount: Decimal
    settled_at: datetime
    issued: int
    last_error: str | None

    def line(self) -> str:
        why = f"; last error: {self.last_error}" if self.last_error else ""
        return (
            f"transaction {self.transaction_id} ({self.amount:.2f}, settled "
            f"{self.settled_at.isoformat()}): {self.issued} sale receipts issued, not 1{why}"
        )


@dataclass(frozen=True)
class Report:
    days: list[DayDifference]
    missing: list[MissingSale]

    @property
    def clean(self) -> bool:
        return not self.days and not self.missing


def check(since: datetime) -> Report:
    rows = db.session.execute(_MONEY_BY_DAY, {"since": since})
    days = [
        DayDifference(
            r.day, Decimal(r.received), Decimal(r.refunded), Decimal(r.sales), Decimal(r.returns)
        )
        for r in rows
    ]
    missing = [
        MissingSale(r.id, Decimal(r.amount), r.settled_at, int(r.issued), r.last_error)
        for r in db.session.execute(_SALE_RECEIPTS, {"since": since})
    ]
    return Report(days=[d for d in days if d.difference != 0], missing=missing)
