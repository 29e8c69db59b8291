from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, Uuid, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model

ROLES = ("owner", "admin", "member")


class Club(Model):
    __tablename__ = "clubs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class ClubMember(Model):
    __tablename__ = "club_members"
    __table_args__ = (CheckConstraint("role IN ('owner', 'admin', 'member')", name="role_known"),)

    club_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clubs.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class ClubSubscription(Model):
    """The club's current plan; one row per club, rewritten by settlement and lifecycle."""

    __tablename__ = "club_subscriptions"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'active', 'grace', 'expired')", name="status_known"),
        CheckConstraint("current_period_end > current_period_start", name="period_ordered"),
        CheckConstraint("grace_until >= current_period_end", name="grace_after_period"),
        # The lifecycle sweep's two queues (migration 0005).
        Index(
            "ix_club_subscriptions_active_end",
            "current_period_end",
            postgresql_where=text("status = 'active'"),
        ),
        Index(
            "ix_club_subscriptions_grace_end",
            "grace_until",
            postgresql_where=text("status = 'grace'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    club_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clubs.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    plan_id: Mapped[str] = mapped_column(ForeignKey("club_plans.id"), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    current_period_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    current_period_end: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    grace_until: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # A downgrade paid ahead (migration 0011): the plan the next period is on, from
    # ``scheduled_at`` (the end of the period bought on the current plan).
    scheduled_plan_id: Mapped[str | None] = mapped_column(ForeignKey("club_plans.id"))
    scheduled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )


class SubscriptionGrant(Model):
    """One period bought by one transaction; the unique source makes settlement idempotent."""

    __tablename__ = "subscription_grants"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    source_transaction_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("transactions.id"), nullable=False, unique=True
    )
    club_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clubs.id"), nullable=False, index=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("club_plans.id"), nullable=False)
    period_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    period_end: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
