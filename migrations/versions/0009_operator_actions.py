"""Operator actions: who resolved or refunded a transaction from the console, and why.

``operator_actions``: one row per operator action (resolve grant/refund/fail, a
refund in full or of the unused credits), written before the action runs and
finished with its outcome, so every click is on record with the operator's id and
the required reason, refused ones included.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "operator_actions",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("transaction_id", sa.Uuid(), nullable=False),
        sa.Column("operator_id", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "action IN ('resolve_grant', 'resolve_refund', 'resolve_fail', 'refund',"
            " 'refund_unused')",
            name=op.f("ck_operator_actions_action_known"),
        ),
        sa.CheckConstraint(
            "outcome IN ('asked', 'done', 'refused', 'error')",
            name=op.f("ck_operator_actions_outcome_known"),
        ),
        sa.CheckConstraint(
            "length(btrim(reason)) > 0", name=op.f("ck_operator_actions_reason_given")
        ),
        sa.CheckConstraint(
            "length(btrim(operator_id)) > 0", name=op.f("ck_operator_actions_operator_named")
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["transactions.id"],
            name=op.f("fk_operator_actions_transaction_id_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_actions")),
    )
    op.create_index(
        op.f("ix_operator_actions_transaction_id"), "operator_actions", ["transaction_id"]
    )


def downgrade():
    op.drop_table("operator_actions")
