"""What renewals remember: the reminders sent, and each renewal or upgrade bought."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model


class RenewalKind(StrEnum):
    RENEWAL = "renewal"  # the next period, from the current period's end
    UPGRADE = "upgrade"  # a dearer plan for the rest of the current period


class SubscriptionReminder(Model):
    """One ``subscription.renewal_due`` sent: at most one per club, period end and day."""

    __tablename__ = "subscription_reminders"
    __table_args__ = (
        # The sweep's exactly-once: a second sweep (or a concurrent one) inserts nothing.
        UniqueConstraint(
            "club_id", "period_end", "days_before", name="uq_subscription_reminders_once"
        ),
        CheckConstraint("days_before > 0", name="days_before_positive"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    club_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clubs.id", ondelete="CASCADE"), nullable=False
    )
    period_end: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # The reminder day of the policy this one stands for (7, 3, 1 ...).
    days_before: Mapped[int] = mapped_column(Integer, nullable=False)
    # What it told the owner: whole days left (a late reminder tells the truth).
    days_left: Mapped[int] = mapped_column(Integer, nullable=False)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class ClubRenewal(Model):
    """A renewal (the next period) or an upgrade (the rest of this one) being bought.

    One row per transaction. ``open`` while its transaction may still be paid; the
    partial unique index allows one open row per club, so two concurrent renew
    calls can never leave two pending renewals (PostgreSQL decides, not the code).
    """

    __tablename__ = "club_renewals"
    __table_args__ = (
        CheckConstraint("kind IN ('renewal', 'upgrade')", name="kind_known"),
        Index("uq_club_renewals_one_open", "club_id", unique=True, postgresql_where=text("open")),
    )

    transaction_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("transactions.id"), primary_key=True
    )
    club_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clubs.id", ondelete="CASCADE"), nullable=False, index=True
    )
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    plan_id: Mapped[str] = mapped_column(ForeignKey("club_plans.id"), nullable=False)
    from_plan_id: Mapped[str] = mapped_column(ForeignKey("club_plans.id"), nullable=False)
    # The period end the renewal extends (an upgrade keeps it): a payment that finds
    # the subscription elsewhere (renewed already, by another link) is held for review.
    period_end: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    open: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class RenewalPhone(Model):
    """The phone a club's owner agreed to receive Kaspi renewal invoices on."""

    __tablename__ = "club_renewal_phones"
    __table_args__ = (CheckConstraint("phone ~ '^7[0-9]{10}$'", name="phone_kz_digits"),)

    club_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clubs.id", ondelete="CASCADE"), primary_key=True
    )
    # Digits only, as Kaspi takes it: 7 and ten digits.
    phone: Mapped[str] = mapped_column(String(11), nullable=False)
    # Who agreed and when: the owner, by storing it (consent is required to store).
    consented_by: Mapped[str] = mapped_column(ForeignKey("users.id"), nullable=False)
    consented_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
