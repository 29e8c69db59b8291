"""The console's summary: counts by status, the age of the oldest held and pending
transactions, today's money in and out, and the last 24 hours hour by hour —
all read from the database when asked (a handful of aggregate queries)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute

from app.billing.core.models import Transaction, TransactionRefund
from app.billing.core.status import TxStatus
from app.billing.operator.bodies import AgeOut, HourOut, MoneyOut, SummaryOut, cents
from app.extensions import db

# Kazakhstan keeps one time zone, UTC+5, without daylight saving: "today" is its day.
KAZAKHSTAN = timezone(timedelta(hours=5), "UTC+05")
HOURS = 24


def summary(now: datetime | None = None) -> SummaryOut:
    now = now or datetime.now(UTC)
    counted = db.session.execute(
        select(Transaction.status, func.count()).group_by(Transaction.status)
    )
    by_status: dict[str, int] = {row[0]: row[1] for row in counted}
    return SummaryOut(
        by_status={s.value: by_status.get(s.value, 0) for s in TxStatus},
        needs_review=_age(TxStatus.NEEDS_REVIEW, Transaction.updated_at, now),
        pending=_age(TxStatus.PENDING, Transaction.created_at, now),
        today=_today(now),
        hours=_hours(now),
    )


def _age(status: TxStatus, since: InstrumentedAttribute[datetime], now: datetime) -> AgeOut:
    count, oldest = db.session.execute(
        select(func.count(), func.min(since)).where(Transaction.status == status)
    ).one()
    age = int((now - oldest).total_seconds()) if oldest is not None else None
    return AgeOut(count=count, oldest_at=oldest, oldest_age_s=age)


def _today(now: datetime) -> MoneyOut:
    """Money received (settled: completed, refunded since, or held after settling)
    and money returned (refunds recorded) since midnight in Kazakhstan."""
    local = now.astimezone(KAZAKHSTAN)
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    money_in = db.session.scalar(
        select(func.coalesce(func.sum(Transaction.amount), 0)).where(
            Transaction.settled_at >= day_start, Transaction.settled_at <= now
        )
    )
    money_out = db.session.scalar(
        select(func.coalesce(func.sum(TransactionRefund.amount), 0)).where(
            TransactionRefund.created_at >= day_start, TransactionRefund.created_at <= now
        )
    )
    return MoneyOut(
        money_in=cents(money_in or Decimal(0)),
        money_out=cents(money_out or Decimal(0)),
        currency="KZT",
        day_start=day_start,
    )


def _hours(now: datetime) -> list[HourOut]:
    """Transactions opened and settled in each of the last 24 hours (the current one
    last, so far), zeros included."""
    last = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    first = last - timedelta(hours=HOURS - 1)
    opened = _per_hour(Transaction.created_at, first, now)
    settled = _per_hour(Transaction.settled_at, first, now)
    hours = [first + timedelta(hours=i) for i in range(HOURS)]
    return [HourOut(hour=h, pending=opened.get(h, 0), settled=settled.get(h, 0)) for h in hours]


def _per_hour(
    column: InstrumentedAttribute[Any], first: datetime, now: datetime
) -> dict[datetime, int]:
    hour = func.date_trunc("hour", func.timezone("UTC", column))
    rows = db.session.execute(
        select(hour, func.count()).where(column >= first, column <= now).group_by(hour)
    )
    return {stamp.replace(tzinfo=UTC): count for stamp, count in rows}
