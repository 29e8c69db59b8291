"""Row locks of clubs and their subscriptions (``app.locking.LOCK_ORDER``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, select

from app.clubs.models import Club, ClubSubscription
from app.clubs.transitions import SubStatus
from app.locking import fresh_all, fresh_one


def lock_club(club_id: uuid.UUID) -> Club | None:
    """Serialises membership changes of one club (counting members against the plan).

    FOR NO KEY UPDATE: rows referencing the club (new members, new events) still
    only take KEY SHARE on it and are not blocked.
    """
    return fresh_one(select(Club).where(Club.id == club_id).with_for_update(key_share=True))


def lock_subscription(club_id: uuid.UUID) -> ClubSubscription | None:
    return fresh_one(
        select(ClubSubscription).where(ClubSubscription.club_id == club_id).with_for_update()
    )


def share_subscription(club_id: uuid.UUID) -> ClubSubscription | None:
    """Readers that act on a subscription's status hold it still until they commit."""
    return fresh_one(
        select(ClubSubscription)
        .where(ClubSubscription.club_id == club_id)
        .with_for_update(read=True)
    )


def claim_subscriptions_due(now: datetime, limit: int) -> Sequence[ClubSubscription]:
    return fresh_all(subscriptions_due_statement(now, limit)).all()


def subscriptions_due_statement(now: datetime, limit: int) -> Select[tuple[ClubSubscription]]:
    return (
        select(ClubSubscription)
        .where(
            (
                (ClubSubscription.status == SubStatus.ACTIVE)
                & (ClubSubscription.current_period_end <= now)
            )
            | ((ClubSubscription.status == SubStatus.GRACE) & (ClubSubscription.grace_until <= now))
        )
        .order_by(ClubSubscription.current_period_end)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
