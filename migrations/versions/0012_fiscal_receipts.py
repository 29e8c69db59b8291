"""Fiscal receipts: the seller, each product's receipt position, every receipt owed.

``fiscal_seller`` (one row) and ``fiscal_positions`` are data seeded here for
development; an operator sets the real BIN, name, VAT and catalogue codes
(``flask --app wsgi billing receipts seller`` / ``position``). ``fiscal_receipts``:
one row per money fact of the outbox, pending until the register issues it.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# Development values: a VAT payer at the 2026 rate, placeholder BIN and codes.
SELLER = {
    "id": 1,
    "bin": "000000000000",
    "name": "Events Platform (development seller)",
    "vat_payer": True,
    "vat_rate": "16.00",
}
# 5114: a service (the unit code for each one of them).
POSITIONS = [
    ("EVENT_UPGRADE_500", "Event upgrade (up to 500 participants)", "000000000000000001", 5114),
    ("CLUB_50", "Club 50 subscription (30 days)", "000000000000000002", 5114),
    ("CLUB_500", "Club 500 subscription (30 days)", "000000000000000003", 5114),
    ("CLUB_UNLIMITED", "Club unlimited subscription (30 days)", "000000000000000004", 5114),
]


def upgrade():
    op.create_table(
        "fiscal_seller",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bin", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("vat_payer", sa.Boolean(), nullable=False),
        sa.Column("vat_rate", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("bin ~ '^[0-9]{12}$'", name=op.f("ck_fiscal_seller_bin_12_digits")),
        sa.CheckConstraint("id = 1", name=op.f("ck_fiscal_seller_single_row")),
        sa.CheckConstraint(
            "vat_rate >= 0 AND vat_rate < 100", name=op.f("ck_fiscal_seller_vat_rate_range")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fiscal_seller")),
    )
    op.create_table(
        "fiscal_positions",
        sa.Column("product_code", sa.String(length=64), nullable=False),
        sa.Column("position_name", sa.String(length=200), nullable=False),
        sa.Column("catalogue_code", sa.String(length=64), nullable=False),
        sa.Column("unit_code", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_code"],
            ["billing_products.code"],
            name=op.f("fk_fiscal_positions_product_code_billing_products"),
        ),
        sa.PrimaryKeyConstraint("product_code", name=op.f("pk_fiscal_positions")),
    )
    op.create_table(
        "fiscal_receipts",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("transaction_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("external_number", sa.String(length=64), nullable=False),
        sa.Column("sale_receipt_id", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fiscal_number", sa.String(length=64), nullable=True),
        sa.Column("ticket_url", sa.Text(), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("offline", sa.Boolean(), nullable=False),
        sa.Column("register_reply", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("fact_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(kind = 'return') = (sale_receipt_id IS NOT NULL)",
            name=op.f("ck_fiscal_receipts_return_tied"),
        ),
        sa.CheckConstraint(
            "(state = 'issued') = (fiscal_number IS NOT NULL AND issued_at IS NOT NULL)",
            name=op.f("ck_fiscal_receipts_issued_iff_numbered"),
        ),
        sa.CheckConstraint(
            "kind IN ('sale', 'return')", name=op.f("ck_fiscal_receipts_kind_known")
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'issued')", name=op.f("ck_fiscal_receipts_state_known")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_fiscal_receipts_amount_positive")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_fiscal_receipts_attempts_non_negative")),
        sa.ForeignKeyConstraint(
            ["sale_receipt_id"],
            ["fiscal_receipts.id"],
            name=op.f("fk_fiscal_receipts_sale_receipt_id_fiscal_receipts"),
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["transactions.id"],
            name=op.f("fk_fiscal_receipts_transaction_id_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fiscal_receipts")),
        sa.UniqueConstraint("event_id", name=op.f("uq_fiscal_receipts_event_id")),
        sa.UniqueConstraint("external_number", name=op.f("uq_fiscal_receipts_external_number")),
    )
    with op.batch_alter_table("fiscal_receipts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_fiscal_receipts_due",
            ["next_attempt_at"],
            unique=False,
            postgresql_where=sa.text("state = 'pending'"),
        )
        batch_op.create_index("ix_fiscal_receipts_fact_at", ["fact_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_fiscal_receipts_transaction_id"), ["transaction_id"], unique=False
        )
        batch_op.create_index(
            "uq_fiscal_receipts_one_sale",
            ["transaction_id"],
            unique=True,
            postgresql_where=sa.text("kind = 'sale'"),
        )

    seller = sa.table(
        "fiscal_seller",
        sa.column("id", sa.Integer),
        sa.column("bin", sa.String),
        sa.column("name", sa.String),
        sa.column("vat_payer", sa.Boolean),
        sa.column("vat_rate", sa.Numeric),
    )
    op.bulk_insert(seller, [SELLER])
    positions = sa.table(
        "fiscal_positions",
        sa.column("product_code", sa.String),
        sa.column("position_name", sa.String),
        sa.column("catalogue_code", sa.String),
        sa.column("unit_code", sa.Integer),
    )
    # Only the products this database has (a catalog edited before this migration).
    bind = op.get_bind()
    known = {row[0] for row in bind.execute(sa.text("SELECT code FROM billing_products"))}
    op.bulk_insert(
        positions,
        [
            {"product_code": c, "position_name": n, "catalogue_code": k, "unit_code": u}
            for c, n, k, u in POSITIONS
            if c in known
        ],
    )


def downgrade():
    with op.batch_alter_table("fiscal_receipts", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_fiscal_receipts_one_sale", postgresql_where=sa.text("kind = 'sale'")
        )
        batch_op.drop_index(batch_op.f("ix_fiscal_receipts_transaction_id"))
        batch_op.drop_index("ix_fiscal_receipts_fact_at")
        batch_op.drop_index("ix_fiscal_receipts_due", postgresql_where=sa.text("state = 'pending'"))

    op.drop_table("fiscal_receipts")
    op.drop_table("fiscal_positions")
    op.drop_table("fiscal_seller")
