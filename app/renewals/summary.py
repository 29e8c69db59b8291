"""What the club page shows of renewals: when to pay, what is pending, what was said."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.billing.core.models import Transaction
from app.billing.core.status import TxStatus
from app.clubs.models import ClubSubscription
from app.extensions import db
from app.renewals.models import ClubRenewal, SubscriptionReminder
from app.renewals.schemas import ReminderOut, RenewalOut, ScheduledChangeOut


def renewal_of(sub: ClubSubscription) -> RenewalOut:
    pending = db.session.scalar(
        select(ClubRenewal.transaction_id)
        .join(Transaction, Transaction.id == ClubRenewal.transaction_id)
        .where(
            ClubRenewal.club_id == sub.club_id,
            ClubRenewal.open.is_(True),
            Transaction.status == TxStatus.PENDING,
        )
    )
    sent = db.session.scalars(
        select(SubscriptionReminder)
        .where(
            SubscriptionReminder.club_id == sub.club_id,
            SubscriptionReminder.period_end == sub.current_period_end,
        )
        .order_by(SubscriptionReminder.sent_at, SubscriptionReminder.id)
    ).all()
    return RenewalOut(
        due_at=sub.current_period_end,
        transaction_id=pending,
        reminders_sent=[
            ReminderOut(reminder_day=r.days_before, days_left=r.days_left, sent_at=r.sent_at)
            for r in sent
        ],
    )


def scheduled_change_of(sub: ClubSubscription, now: datetime) -> ScheduledChangeOut | None:
    """A downgrade paid ahead, until its moment has come."""
    if sub.scheduled_plan_id is None or sub.scheduled_at is None or sub.scheduled_at <= now:
        return None
    return ScheduledChangeOut(plan_id=sub.scheduled_plan_id, effective_at=sub.scheduled_at)
