"""Club subscription lifecycle: activate, extend, switch plan, grace, expiry.

No subscription row means the club is on the free (default) plan.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text

from app.catalog import services as catalog
from app.catalog.services import PlanLike
from app.clubs import locks as club_locks
from app.clubs.models import ClubSubscription, SubscriptionGrant
from app.clubs.transitions import CURRENT, SubStatus, move_subscription
from app.extensions import db


@dataclass(frozen=True)
class EffectivePlan:
    plan: PlanLike
    status: SubStatus | None  # None: no subscription, the free plan
    subscription: ClubSubscription | None


def effective_plan(club_id: uuid.UUID, *, for_share: bool = False) -> EffectivePlan:
    """The plan whose limits apply to the club now; expired subscriptions fall back to free."""
    sub = (
        club_locks.share_subscription(club_id)
        if for_share
        else db.session.scalar(select(ClubSubscription).where(ClubSubscription.club_id == club_id))
    )
    if sub is None:
        return EffectivePlan(catalog.default_plan(), None, None)
    status = status_at(sub, datetime.now(UTC))
    if status == SubStatus.EXPIRED:
        return EffectivePlan(catalog.default_plan(), status, sub)
    return EffectivePlan(catalog.require_plan(sub.plan_id), status, sub)


def status_at(sub: ClubSubscription, now: datetime) -> SubStatus:
    """The status the timestamps say, whatever the lifecycle task has written so far.

    The periodic task keeps the column tidy, but enforcement must not depend on
    it having run: a stopped beat must not extend anybody's plan.
    """
    if sub.status in CURRENT and now >= sub.grace_until:
        return SubStatus.EXPIRED
    if sub.status == SubStatus.ACTIVE and now >= sub.current_period_end:
        return SubStatus.GRACE
    return SubStatus(sub.status)


# Text: SQLAlchemy compiles the PostgreSQL dialect's INSERT ... ON CONFLICT anew on
# every execution (it is never cached), which costs more than the round trip.
_INSERT_GRANT = text(
    """
    INSERT INTO subscription_grants
        (id, source_transaction_id, club_id, plan_id, period_start, period_end)
    VALUES (:id, :source_transaction_id, :club_id, :plan_id, :period_start, :period_end)
    ON CONFLICT (source_transaction_id) DO NOTHING
    RETURNING id
    """
)


def grant_period(
    club_id: uuid.UUID, plan_id: str, source_transaction_id: uuid.UUID, now: datetime
) -> bool:
    """Apply one paid period from a settled transaction. Returns False if already applied.

    Same plan and still active or in grace: extend from the current end. Another
    plan, or nothing current: the new plan starts now. The unique source
    transaction on subscription_grants makes a second call a no-op.
    """
    plan = catalog.require_plan(plan_id)
    period = timedelta(days=plan.period_days)
    grace = timedelta(days=catalog.get_policy().grace_days)
    # The club row serialises a club's first subscription too (no row to lock yet).
    club_locks.lock_club(club_id)
    sub = club_locks.lock_subscription(club_id)
    if sub is not None and sub.plan_id == plan_id and sub.status in CURRENT:
        start = max(sub.current_period_end, now) if sub.status == SubStatus.ACTIVE else now
    else:
        start = now
    end = start + period
    inserted = db.session.execute(
        _INSERT_GRANT,
        {
            "id": uuid.uuid4(),
            "source_transaction_id": source_transaction_id,
            "club_id": club_id,
            "plan_id": plan_id,
            "period_start": start,
            "period_end": end,
        },
    ).scalar()
    if inserted is None:
        return False
    if sub is None:
        sub = ClubSubscription(club_id=club_id)
        db.session.add(sub)
    if sub.plan_id != plan_id or sub.status not in CURRENT or start == now:
        sub.current_period_start = start
    sub.plan_id = plan_id
    sub.current_period_end = end
    sub.grace_until = end + grace
    move_subscription(sub, SubStatus.ACTIVE)
    db.session.flush()
    return True


def take_back_period(grant: SubscriptionGrant, now: datetime) -> bool:
    """Undo a refunded period: the subscription ends that much earlier.

    If the club has since switched to another plan, the refunded period no longer
    applies and nothing changes. A subscription whose end moves into the past is
    expired at once: a refund buys no grace.
    """
    club_locks.lock_club(grant.club_id)
    sub = club_locks.lock_subscription(grant.club_id)
    if sub is None or sub.plan_id != grant.plan_id or sub.status == SubStatus.EXPIRED:
        return False
    end = sub.current_period_end - (grant.period_end - grant.period_start)
    if end <= now:
        # The period must stay non-empty (a CHECK); it simply ends now.
        sub.current_period_end = max(now, sub.current_period_start + timedelta(microseconds=1))
        sub.grace_until = sub.current_period_end
        move_subscription(sub, SubStatus.EXPIRED)
    else:
        sub.current_period_end = end
        sub.grace_until = end + timedelta(days=catalog.get_policy().grace_days)
    db.session.flush()
    return True


def advance_due(now: datetime, limit: int = 500) -> dict[str, int]:
    """active → grace when the period ends; grace → expired when grace ends."""
    counts = {SubStatus.GRACE.value: 0, SubStatus.EXPIRED.value: 0}
    for sub in club_locks.claim_subscriptions_due(now, limit):
        if sub.status == SubStatus.ACTIVE and sub.current_period_end <= now:
            target = SubStatus.GRACE if sub.grace_until > now else SubStatus.EXPIRED
        elif sub.status == SubStatus.GRACE and sub.grace_until <= now:
            target = SubStatus.EXPIRED
        else:
            continue
        move_subscription(sub, target)
        counts[target.value] += 1
    db.session.flush()
    return counts
