"""The fiscal tables: who sells (seller), what each product is called on a receipt
(positions), and every receipt owed or issued (receipts).

``fiscal_seller`` and ``fiscal_positions`` are data (seeded by migration 0012,
edited by an operator): the seller's BIN and name, whether it pays VAT and at
which rate, each product's position name, national catalogue code and unit.
``fiscal_receipts``: one row per money fact of the outbox (``event_id`` unique),
pending until the register has issued it. A transaction has at most one sale
receipt (a partial unique index): a completion told twice (resolved out of
review) is fiscalized once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model


class FiscalSeller(Model):
    __tablename__ = "fiscal_seller"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("vat_rate >= 0 AND vat_rate < 100", name="vat_rate_range"),
        CheckConstraint("bin ~ '^[0-9]{12}$'", name="bin_12_digits"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bin: Mapped[str] = mapped_column(String(12), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    vat_payer: Mapped[bool] = mapped_column(Boolean, nullable=False)
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class FiscalPosition(Model):
    __tablename__ = "fiscal_positions"

    product_code: Mapped[str] = mapped_column(ForeignKey("billing_products.code"), primary_key=True)
    position_name: Mapped[str] = mapped_column(String(200), nullable=False)
    # The national catalogue of goods and services code printed on the receipt.
    catalogue_code: Mapped[str] = mapped_column(String(64), nullable=False)
    # Unit of measure code (796 = a piece, 5114 = a service).
    unit_code: Mapped[int] = mapped_column(Integer, nullable=False)


RECEIPT_KINDS = ("sale", "return")
RECEIPT_STATES = ("pending", "issued")


class Receipt(Model):
    __tablename__ = "fiscal_receipts"
    __table_args__ = (
        CheckConstraint("kind IN ('sale', 'return')", name="kind_known"),
        CheckConstraint("state IN ('pending', 'issued')", name="state_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        CheckConstraint(
            "(state = 'issued') = (fiscal_number IS NOT NULL AND issued_at IS NOT NULL)",
            name="issued_iff_numbered",
        ),
        CheckConstraint("(kind = 'return') = (sale_receipt_id IS NOT NULL)", name="return_tied"),
        Index(
            "uq_fiscal_receipts_one_sale",
            "transaction_id",
            unique=True,
            postgresql_where=text("kind = 'sale'"),
        ),
        Index(
            "ix_fiscal_receipts_due", "next_attempt_at", postgresql_where=text("state = 'pending'")
        ),
        Index("ix_fiscal_receipts_fact_at", "fact_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    # The outbox fact it fiscalizes (transaction.completed or transaction.refunded); the
    # sale of money refunded with no completion between is 's' + the refund fact's id.
    event_id: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    transaction_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("transactions.id"), nullable=False, index=True
    )
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    # Sent as ExternalCheckNumber: derived from event_id, so every retry repeats it.
    external_number: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    sale_receipt_id: Mapped[int | None] = mapped_column(ForeignKey("fiscal_receipts.id"))
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_error: Mapped[str | None] = mapped_column(Text)
    # When the transaction was held for review as receipt_failed (once).
    held_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    fiscal_number: Mapped[str | None] = mapped_column(String(64))
    ticket_url: Mapped[str | None] = mapped_column(Text)
    issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    offline: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # The register's answer, whole (cashbox numbers, OFD), for the receipt page and audits.
    register_reply: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # When the money moved (the fact's time): the day `receipts check` counts it on.
    fact_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
