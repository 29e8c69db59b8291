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
from app.renewals.models import ClubRenewal, RenewalKind


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
    now = datetime.now(UTC)
    status = status_at(sub, now)
    if status == SubStatus.EXPIRED:
        return EffectivePlan(catalog.default_plan(), status, sub)
    return EffectivePlan(catalog.require_plan(plan_id_at(sub, now)), status, sub)


def plan_id_at(sub: ClubSubscription, now: datetime) -> str:
    """The plan in force: a downgrade paid ahead applies from its moment, written or not."""
    due = sub.scheduled_at is not None and sub.scheduled_at <= now
    if sub.scheduled_plan_id is not None and due:
        return sub.scheduled_plan_id
    return sub.plan_id


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


@dataclass(frozen=True)
class Current:
    """What a period's arithmetic needs of the subscription as it stands."""

    plan_id: str
    status: SubStatus  # by the timestamps (:func:`status_at`)
    period_start: datetime
    period_end: datetime


@dataclass(frozen=True)
class Bought:
    """The period a payment buys: ``[start, end)`` on ``plan_id``.

    ``switch_now``: the plan changes at once (a new period, an upgrade, a switch in
    grace); otherwise a different plan is scheduled for ``start``.
    """

    start: datetime
    end: datetime
    switch_now: bool


def period_bought(
    current: Current | None,
    plan_id: str,
    period: timedelta,
    now: datetime,
    *,
    renewal: bool = False,
    upgrade: bool = False,
) -> Bought:
    """The period arithmetic of a paid plan (docs/BILLING.md, "Renewals").

    - An upgrade while the period runs: the new plan from now to the same end.
    - A renewal, or the same plan bought again, while active or in grace: the next
      period from the current end, never from the payment, so renewing early loses
      no days and renewing in grace gives none free.
    - Nothing current (no subscription, expired), or another plan bought outside a
      renewal: a new period from the payment.
    """
    if current is None or current.status not in CURRENT:
        return Bought(now, now + period, switch_now=True)
    if upgrade and current.status == SubStatus.ACTIVE:
        return Bought(now, current.period_end, switch_now=True)
    if renewal or current.plan_id == plan_id:
        start = current.period_end
        return Bought(start, start + period, switch_now=start <= now)
    return Bought(now, now + period, switch_now=True)


def _current(sub: ClubSubscription | None, now: datetime) -> Current | None:
    if sub is None:
        return None
    _apply_schedule(sub, now)
    return Current(
        sub.plan_id, status_at(sub, now), sub.current_period_start, sub.current_period_end
    )


def _apply_schedule(sub: ClubSubscription, now: datetime) -> None:
    """A downgrade paid ahead takes effect once its moment has come (on a locked row)."""
    due = sub.scheduled_at is not None and sub.scheduled_at <= now
    if sub.scheduled_plan_id is not None and due:
        sub.plan_id = sub.scheduled_plan_id
        sub.scheduled_plan_id = None
        sub.scheduled_at = None


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

    :func:`period_bought` decides the period; a renewal or upgrade bought through
    ``POST /api/clubs/<id>/renew`` (a ``club_renewals`` row) says which kind it is.
    The unique source transaction on subscription_grants makes a second call a no-op.
    """
    plan = catalog.require_plan(plan_id)
    period = timedelta(days=plan.period_days)
    grace = timedelta(days=catalog.get_policy().grace_days)
    # The club row serialises a club's first subscription too (no row to lock yet).
    club_locks.lock_club(club_id)
    sub = club_locks.lock_subscription(club_id)
    bought_as = db.session.get(ClubRenewal, source_transaction_id)
    current = _current(sub, now)
    bought = period_bought(
        current,
        plan_id,
        period,
        now,
        renewal=bought_as is not None and bought_as.kind == RenewalKind.RENEWAL,
        upgrade=bought_as is not None and bought_as.kind == RenewalKind.UPGRADE,
    )
    inserted = db.session.execute(
        _INSERT_GRANT,
        {
            "id": uuid.uuid4(),
            "source_transaction_id": source_transaction_id,
            "club_id": club_id,
            "plan_id": plan_id,
            "period_start": bought.start,
            "period_end": bought.end,
        },
    ).scalar()
    if inserted is None:
        return False
    if bought_as is not None:
        bought_as.open = False
    if sub is None:
        sub = ClubSubscription(club_id=club_id)
        db.session.add(sub)
    # A new period (or one renewed in grace) starts where it starts; an upgrade keeps
    # the period it upgrades, start and end.
    if current is None or (bought.start <= now and bought.end != current.period_end):
        sub.current_period_start = bought.start
    if bought.switch_now or current is None:
        sub.plan_id = plan_id
        if current is None or current.status not in CURRENT:
            sub.scheduled_plan_id = None
            sub.scheduled_at = None
    elif plan_id != sub.plan_id:
        sub.scheduled_plan_id = plan_id
        sub.scheduled_at = bought.start
    sub.current_period_end = bought.end
    sub.grace_until = bought.end + grace
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
    bought_as = db.session.get(ClubRenewal, grant.source_transaction_id)
    if bought_as is not None and bought_as.kind == RenewalKind.UPGRADE:
        return _take_back_upgrade(sub, grant, bought_as)
    if sub is not None:
        _apply_schedule(sub, now)  # a cheaper period that has begun is the plan now
        if sub.scheduled_plan_id == grant.plan_id != sub.plan_id:
            return _take_back_scheduled(sub, grant)
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


def _take_back_upgrade(
    sub: ClubSubscription | None, grant: SubscriptionGrant, bought_as: ClubRenewal
) -> bool:
    """A refunded upgrade bought the better plan for the rest of a period: exactly
    that is taken back (the old plan again, the period end untouched)."""
    if sub is None or sub.plan_id != grant.plan_id or sub.current_period_end != grant.period_end:
        return False  # renewed or switched since: the upgrade's days are no longer there
    sub.plan_id = bought_as.from_plan_id
    db.session.flush()
    return True


def _take_back_scheduled(sub: ClubSubscription, grant: SubscriptionGrant) -> bool:
    """A refunded renewal on a cheaper plan that had not begun yet: its period goes,
    and with it the change of plan it scheduled."""
    if sub.scheduled_at != grant.period_start or sub.current_period_end != grant.period_end:
        return False
    sub.current_period_end = grant.period_start
    sub.grace_until = grant.period_start + timedelta(days=catalog.get_policy().grace_days)
    sub.scheduled_plan_id = None
    sub.scheduled_at = None
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
