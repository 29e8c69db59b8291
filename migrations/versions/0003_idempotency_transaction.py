"""Idempotency records remember the transaction their request created.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("idempotency_records", sa.Column("transaction_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        op.f("fk_idempotency_records_transaction_id_transactions"),
        "idempotency_records",
        "transactions",
        ["transaction_id"],
        ["id"],
    )


def downgrade():
    op.drop_constraint(
        op.f("fk_idempotency_records_transaction_id_transactions"),
        "idempotency_records",
        type_="foreignkey",
    )
    op.drop_column("idempotency_records", "transaction_id")
