"""The reminder sweep: ``subscription.renewal_due`` at each of the policy's reminder days.

Kaspi cannot charge a buyer again by itself, so the owner is told a period is ending
(through the outbox: the platform notifies them) at ``billing_policy.renewal_reminder_days``
before its end, 7, 3 and 1 by default.

Exactly once per period and day: the reminder row is inserted with ON CONFLICT on
(club, period end, day), in the same statement that picks what is due, and its event
is written with it in the same database transaction; a second or concurrent sweep
inserts nothing and tells nothing. After downtime only the latest day that came due is
sent (the smallest day whose moment has passed): one late reminder, not one per missed
day. Renewing moves the period end, and the next period's reminders start afresh.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text, tuple_

from app.catalog import services as catalog
from app.clubs.models import Club, ClubSubscription
from app.db import after_commit
from app.extensions import db
from app.observability import metrics
from app.renewals.models import SubscriptionReminder
from app.webhooks import outbox
from app.webhooks.catalogue import EventType, subscription_key

# What is due, and its reminder row, in one statement (see the module's notes).
# ``reminder_day``: the smallest policy day whose moment has come.
_SEND_DUE = text(
    """
    WITH due AS (
        SELECT sub.club_id, sub.current_period_end AS period_end,
               (SELECT min(day) FROM unnest(CAST(:days AS integer[])) AS day
                WHERE sub.current_period_end - CAST(:now AS timestamptz)
                      <= day * interval '1 day') AS reminder_day
        FROM club_subscriptions AS sub
        WHERE sub.status = 'active'
          AND sub.current_period_end > CAST(:now AS timestamptz)
          AND sub.current_period_end <= CAST(:horizon AS timestamptz)
    )
    INSERT INTO subscription_reminders (club_id, period_end, days_before, days_left, sent_at)
    SELECT club_id, period_end, reminder_day,
           CAST(ceil(extract(epoch FROM period_end - CAST(:now AS timestamptz)) / 86400)
                AS integer),
           :now
    FROM due
    WHERE NOT EXISTS (
        SELECT 1 FROM subscription_reminders AS sent
        WHERE sent.club_id = due.club_id AND sent.period_end = due.period_end
          AND sent.days_before = due.reminder_day
    )
    ORDER BY period_end
    LIMIT :limit
    ON CONFLICT ON CONSTRAINT uq_subscription_reminders_once DO NOTHING
    RETURNING club_id, period_end, days_before, days_left
    """
)


@dataclass(frozen=True)
class Sent:
    club_id: uuid.UUID
    period_end: datetime
    reminder_day: int
    days_left: int


def firsts_of_their_period(sent: list[Sent]) -> list[Sent]:
    """The reminders that were the first of their period (the invoice goes out then)."""
    if not sent:
        return []
    rows = db.session.execute(
        select(SubscriptionReminder.club_id, func.count())
        .where(
            tuple_(SubscriptionReminder.club_id, SubscriptionReminder.period_end).in_(
                [(s.club_id, s.period_end) for s in sent]
            )
        )
        .group_by(SubscriptionReminder.club_id)
    ).all()
    counts: dict[uuid.UUID, int] = {}
    for club_id, count in rows:
        counts[club_id] = count
    return [s for s in sent if counts.get(s.club_id) == 1]


def renew_url(club_id: uuid.UUID) -> str:
    """The club page (its banner has the Renew button), relative to the web app."""
    return f"/#/clubs/{club_id}"


def send_due(now: datetime, limit: int = 500) -> list[Sent]:
    """Insert and tell every reminder due at ``now`` (at most ``limit``)."""
    days = sorted({int(day) for day in catalog.get_policy().renewal_reminder_days})
    rows = db.session.execute(
        _SEND_DUE,
        {"days": days, "now": now, "horizon": now + timedelta(days=days[-1]), "limit": limit},
    ).all()
    sent = [Sent(r.club_id, r.period_end, r.days_before, r.days_left) for r in rows]
    for item in sent:
        _tell(item, now)
        after_commit(_counter(item.reminder_day))
    return sent


def _counter(day: int) -> Callable[[], None]:
    """Counted once the reminder is committed."""
    return lambda: metrics.RENEWAL_REMINDERS.labels(reminder_day=str(day)).inc()


def _tell(item: Sent, now: datetime) -> None:
    sub, owner_id = db.session.execute(
        select(ClubSubscription, Club.owner_id)
        .join(Club, Club.id == ClubSubscription.club_id)
        .where(ClubSubscription.club_id == item.club_id)
    ).one()
    plan_id = sub.scheduled_plan_id or sub.plan_id
    amount, currency = renewal_price(plan_id)
    outbox.emit(
        EventType.SUBSCRIPTION_RENEWAL_DUE,
        subscription_key(item.club_id),
        reminder_data(sub, owner_id, plan_id, item, amount, currency),
        now=now,
    )


def renewal_price(plan_id: str) -> tuple[Decimal, str]:
    """What one more period of ``plan_id`` costs: its product on sale, else the plan."""
    product = catalog.product_for_plan(plan_id)
    if product is not None:
        return product.price, product.currency
    plan = catalog.require_plan(plan_id)
    return plan.price, plan.currency


def reminder_data(
    sub: ClubSubscription,
    owner_id: str,
    plan_id: str,
    item: Sent,
    amount: Decimal,
    currency: str,
) -> dict[str, Any]:
    return {
        "club_id": str(item.club_id),
        "user_id": owner_id,
        "plan_id": plan_id,
        "days_left": item.days_left,
        "reminder_day": item.reminder_day,
        "due_at": item.period_end.astimezone(UTC).isoformat(),
        "grace_until": sub.grace_until.astimezone(UTC).isoformat(),
        "amount": outbox.money_text(amount),
        "currency": currency,
        "renew_url": renew_url(item.club_id),
    }
