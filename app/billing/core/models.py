from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model

SETTLED_IFF_PAID = (
    "CASE WHEN status IN ('completed', 'refunded') THEN settled_at IS NOT NULL"
    " WHEN status = 'needs_review' THEN true ELSE settled_at IS NULL END"
)


class Transaction(Model):
    __tablename__ = "transactions"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'completed', 'failed', 'expired', 'canceled',"
            " 'needs_review', 'refunded')",
            name="status_known",
        ),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("amount >= 0", name="amount_non_negative"),
        # No upper bound by our amount: a buyer who paid more than asked (held for
        # review) is refunded what the provider actually received.
        CheckConstraint("refunded_amount >= 0", name="refunded_amount_non_negative"),
        # Settled (money received, kept or returned) exactly when completed or refunded;
        # a settled one held for review (its refund's answer lost) keeps its moment.
        CheckConstraint(SETTLED_IFF_PAID, name="settled_iff_paid"),
        UniqueConstraint(
            "provider", "provider_payment_id", name="uq_transactions_provider_payment"
        ),
        # The poller's work queue: only pending rows, ordered by when they are due.
        Index(
            "ix_transactions_pending_due",
            "next_poll_at",
            postgresql_where=text("status = 'pending'"),
        ),
        # The expire sweep: pending rows by expiry, an index scan instead of a walk.
        Index(
            "ix_transactions_pending_expires",
            "expires_at",
            postgresql_where=text("status = 'pending'"),
        ),
        # One open purchase per event: a second browser's intent for it is refused
        # (409 PURCHASE_IN_PROGRESS), whatever the requests' timing.
        Index(
            "uq_transactions_open_event",
            "event_id",
            unique=True,
            postgresql_where=text("status = 'pending' AND event_id IS NOT NULL"),
        ),
        # The late-payment sweep: rows closed without a payment, by when they closed.
        Index(
            "ix_transactions_closed_unpaid",
            "updated_at",
            postgresql_where=text("status IN ('expired', 'failed', 'canceled')"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    product_code: Mapped[str] = mapped_column(ForeignKey("billing_products.code"), nullable=False)
    club_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("clubs.id"), index=True)
    # The personal event a one-off upgrade is bought for (None for plans and for
    # purchases that named none); deleting the event keeps the purchase.
    event_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    provider: Mapped[str] = mapped_column(String(32), nullable=False)
    provider_payment_id: Mapped[str | None] = mapped_column(String(128))
    provider_transaction_id: Mapped[str | None] = mapped_column(String(128))
    payment_url: Mapped[str | None] = mapped_column(Text)
    poll_interval_s: Mapped[int] = mapped_column(Integer, nullable=False, default=5)
    provider_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    next_poll_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    poll_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Partial refunds keep the status (completed) and add up here; each one is a row
    # in transaction_refunds. A full refund moves the status to refunded.
    refunded_amount: Mapped[Decimal] = mapped_column(
        Numeric(12, 2), nullable=False, default=Decimal("0.00"), server_default=text("0")
    )
    # The late-payment sweep's cursor: when it last asked the provider about this
    # closed row (NULL: never), so each sweep asks about the least recently checked.
    late_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The X-Request-ID of the purchase that created the row: the worker's log lines
    # about it carry this id, so one id follows a payment from request to settle.
    origin_request_id: Mapped[str | None] = mapped_column(String(128))


# The table itself, for Core statements (a mapped class types it as a FromClause).
TRANSACTIONS_TABLE = cast(Table, Transaction.__table__)


class TransactionEvent(Model):
    """Append-only audit log of every status change."""

    __tablename__ = "transaction_events"
    __table_args__ = (
        CheckConstraint(
            "source IN ('api', 'worker', 'dev', 'cli', 'sweep', 'recheck')", name="source_known"
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    transaction_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("transactions.id"), nullable=False, index=True
    )
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16), nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    provider_status: Mapped[str | None] = mapped_column(String(64))
    # Our amount and the provider's, whenever the change was about money (settling,
    # a mismatch sent to review, a refund): the audit shows both side by side.
    amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    provider_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class TransactionRefund(Model):
    """One refund at the provider (full or partial), with what the provider answered."""

    __tablename__ = "transaction_refunds"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("credits_revoked >= 0", name="credits_revoked_non_negative"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    transaction_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("transactions.id"), nullable=False, index=True
    )
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    # Kaspi's ReturnOperationId.
    provider_operation_id: Mapped[str | None] = mapped_column(String(128))
    credits_revoked: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class RefundAttempt(Model):
    """A refund asked of Kaspi, written down before the call in the step that reserves
    it; its ``state`` is what Kaspi answered (``unknown``: no answer, re-asked)."""

    __tablename__ = "refund_attempts"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("kind IN ('full', 'unused', 'late', 'review')", name="kind_known"),
        CheckConstraint("state IN ('asking', 'done', 'failed', 'unknown')", name="state_known"),
        Index(
            "ix_refund_attempts_unknown", "checked_at", postgresql_where=text("state = 'unknown'")
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    transaction_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("transactions.id"), nullable=False, index=True
    )
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    # What this refund returns, and the payment's refunded total at Kaspi once it has.
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    refunded_total: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    # What Kaspi received for the payment (the audit's provider amount).
    paid: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    # The credits this refund revoked: given back if Kaspi did not refund.
    credit_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), nullable=False)
    # The transaction's status when the refund was reserved: where a refund that
    # turns out not to have happened returns it.
    prior_status: Mapped[str] = mapped_column(String(16), nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Credit(Model):
    __tablename__ = "billing_credits"
    __table_args__ = (
        CheckConstraint("status IN ('available', 'consumed', 'revoked')", name="status_known"),
        # A consumed credit always names its event and time; others never do.
        CheckConstraint(
            "(status = 'consumed') = (consumed_event_id IS NOT NULL AND consumed_at IS NOT NULL)",
            name="consumed_has_event",
        ),
        CheckConstraint("sequence > 0", name="sequence_positive"),
        # One grant per (transaction, unit): settling twice cannot add credits.
        UniqueConstraint("source_transaction_id", "sequence", name="uq_billing_credits_grant"),
        Index(
            "ix_billing_credits_owner_available",
            "user_id",
            "credit_code",
            "created_at",
            postgresql_where=text("status = 'available'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    credit_code: Mapped[str] = mapped_column(ForeignKey("billing_products.code"), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="available")
    source_transaction_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("transactions.id"), nullable=False
    )
    sequence: Mapped[int] = mapped_column(Integer, nullable=False)
    # Unique: one credit per event.
    consumed_event_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("events.id"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    consumed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IdempotencyRecord(Model):
    """A client's Idempotency-Key, scoped to the user, with the response it produced."""

    __tablename__ = "idempotency_records"
    __table_args__ = (
        UniqueConstraint("user_id", "key", name="uq_idempotency_records_user_key"),
        CheckConstraint("state IN ('in_progress', 'done')", name="state_known"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), nullable=False)
    key: Mapped[str] = mapped_column(String(255), nullable=False)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    expires_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, index=True
    )
    # The transaction the first request made: a retry that takes over a crashed
    # request's claim continues with it rather than buying twice.
    transaction_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("transactions.id"))


class OperatorAction(Model):
    """What an operator asked of a transaction (resolve it, refund it): who, why, the
    money the confirmation stated, and how it ended. Written before the action runs,
    so a refused or failed click is on record too (the console's audit)."""

    __tablename__ = "operator_actions"
    __table_args__ = (
        CheckConstraint(
            "action IN ('resolve_grant', 'resolve_refund', 'resolve_fail', 'refund',"
            " 'refund_unused')",
            name="action_known",
        ),
        CheckConstraint("outcome IN ('asked', 'done', 'refused', 'error')", name="outcome_known"),
        CheckConstraint("length(btrim(reason)) > 0", name="reason_given"),
        CheckConstraint("length(btrim(operator_id)) > 0", name="operator_named"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    transaction_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("transactions.id"), nullable=False, index=True
    )
    # The token's subject: operators need no users row of their own.
    operator_id: Mapped[str] = mapped_column(String(128), nullable=False)
    action: Mapped[str] = mapped_column(String(16), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    # The amount the operator confirmed (a refund's), when the action stated one.
    amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)
    # The resulting status, or the refusal's code and message.
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
