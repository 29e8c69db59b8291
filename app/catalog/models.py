from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model


class Plan(Model):
    __tablename__ = "club_plans"
    __table_args__ = (
        CheckConstraint("price >= 0", name="price_non_negative"),
        CheckConstraint("period_days > 0", name="period_positive"),
        CheckConstraint("max_members IS NULL OR max_members > 0", name="max_members_positive"),
        CheckConstraint(
            "max_event_participants IS NULL OR max_event_participants > 0",
            name="max_event_participants_positive",
        ),
        Index(
            "uq_club_plans_single_default",
            "is_default",
            unique=True,
            postgresql_where=text("is_default"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    period_days: Mapped[int] = mapped_column(Integer, nullable=False)
    # NULL means unlimited.
    max_members: Mapped[int | None] = mapped_column(Integer)
    max_event_participants: Mapped[int | None] = mapped_column(Integer)
    paid_events: Mapped[bool] = mapped_column(Boolean, nullable=False)
    csv_export: Mapped[bool] = mapped_column(Boolean, nullable=False)
    is_default: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class Product(Model):
    __tablename__ = "billing_products"
    __table_args__ = (
        CheckConstraint("type IN ('credit', 'plan')", name="type_known"),
        CheckConstraint("price >= 0", name="price_non_negative"),
        CheckConstraint(
            "(type = 'plan') = (plan_id IS NOT NULL)", name="plan_products_name_a_plan"
        ),
    )

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(16), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    constraints: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    plan_id: Mapped[str | None] = mapped_column(ForeignKey("club_plans.id"), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class LateAction(StrEnum):
    """``billing_policy.late_payment_action``: what a payment confirmed after its
    transaction closed leads to."""

    GRANT = "grant"
    REFUND = "refund"
    HOLD = "hold"


class BillingPolicy(Model):
    """A single row of tunables; the CHECK keeps it single."""

    __tablename__ = "billing_policy"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("pending_ttl_minutes > 0", name="ttl_positive"),
        CheckConstraint("grace_days >= 0", name="grace_non_negative"),
        CheckConstraint(
            "late_payment_action IN ('grant', 'refund', 'hold')", name="late_payment_action_known"
        ),
        CheckConstraint("late_payment_window_days > 0", name="late_payment_window_positive"),
        CheckConstraint(
            "0 < ALL(renewal_reminder_days) AND cardinality(renewal_reminder_days) > 0",
            name="renewal_reminder_days_positive",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pending_ttl_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    grace_days: Mapped[int] = mapped_column(Integer, nullable=False)
    # What to do with a payment the provider confirms after we closed the transaction
    # (expired, failed, canceled): grant it, refund it, or hold it for review.
    late_payment_action: Mapped[str] = mapped_column(
        String(16), nullable=False, default="grant", server_default="grant"
    )
    # How long after closing a transaction the sweep keeps asking the provider.
    late_payment_window_days: Mapped[int] = mapped_column(
        Integer, nullable=False, default=7, server_default=text("7")
    )
    # Renewals (migration 0011): the days before a period's end at which the owner is
    # reminded (``subscription.renewal_due``), and whether the first reminder also
    # sends a Kaspi remote invoice to the owner's stored phone.
    renewal_reminder_days: Mapped[list[int]] = mapped_column(
        ARRAY(Integer), nullable=False, default=lambda: [7, 3, 1], server_default="{7,3,1}"
    )
    renewal_invoice_to_phone: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=text("false")
    )


class PolicyAction(Model):
    """Which club actions a subscription status allows (absent row = allowed)."""

    __tablename__ = "billing_policy_actions"
    __table_args__ = (
        CheckConstraint(
            "subscription_status IN ('pending', 'active', 'grace', 'expired')",
            name="status_known",
        ),
    )

    subscription_status: Mapped[str] = mapped_column(String(16), primary_key=True)
    action: Mapped[str] = mapped_column(String(64), primary_key=True)
    allowed: Mapped[bool] = mapped_column(Boolean, nullable=False)


class CatalogVersion(Model):
    """One row; triggers on every catalog table give ``version`` a fresh number from a
    sequence (migration 0005), never one a rolled-back change had used.

    Per-process catalog caches compare their version with this one, a primary-key
    read, instead of re-reading the catalog.
    """

    __tablename__ = "catalog_version"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False)
