"""A renewal paid when it no longer fits is held for review, never granted twice.

Only one renewal is open per club, but a closed one can still be paid: a payment link
the buyer kept open after we expired its transaction, paid after the next link was.
Granting both would sell two periods for one; so a renewal whose period was renewed
meanwhile, or an upgrade whose period changed, goes to ``needs_review`` instead.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select

from app.billing.core.models import Transaction
from app.clubs import locks as club_locks
from app.clubs.models import SubscriptionGrant
from app.clubs.subscriptions import plan_id_at, status_at
from app.clubs.transitions import CURRENT, SubStatus
from app.db import after_commit
from app.extensions import db
from app.observability import metrics
from app.renewals.models import ClubRenewal, RenewalKind


def _already_bought(bought: ClubRenewal, transaction_id: uuid.UUID) -> bool:
    """Another payment already bought the period this renewal was priced for (the one
    starting at its ``period_end``). Only that holds a renewal: a refund of some other
    purchase that moved the end does not, so a paid renewal is never blocked by it."""
    return (
        db.session.scalar(
            select(SubscriptionGrant.id)
            .where(
                SubscriptionGrant.club_id == bought.club_id,
                SubscriptionGrant.period_start == bought.period_end,
                SubscriptionGrant.source_transaction_id != transaction_id,
            )
            .limit(1)
        )
        is not None
    )


def hold_reason(tx: Transaction, now: datetime) -> str | None:
    """Why a paid renewal or upgrade must not be granted; None to grant it.

    Called by settlement with the transaction locked; takes the club and subscription
    locks next, in ``app.locking.LOCK_ORDER``.
    """
    bought = db.session.get(ClubRenewal, tx.id)
    if bought is None:
        return None
    club_locks.lock_club(bought.club_id)
    sub = club_locks.lock_subscription(bought.club_id)
    if sub is None:
        return None
    status = status_at(sub, now)
    reason = None
    if bought.kind == RenewalKind.RENEWAL:
        if status in CURRENT and _already_bought(bought, tx.id):
            reason = (
                "renewal paid for a period already renewed (another payment link was paid); "
                "nothing granted"
            )
    elif (
        status != SubStatus.ACTIVE
        or sub.current_period_end != bought.period_end
        or plan_id_at(sub, now) != bought.from_plan_id
    ):
        reason = "upgrade paid after the period it was priced for changed; nothing granted"
    if reason is not None:
        bought.open = False
        kind = bought.kind
        after_commit(lambda: metrics.RENEWALS_HELD.labels(kind=kind).inc())
    return reason
