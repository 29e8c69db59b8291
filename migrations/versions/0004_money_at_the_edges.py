"""Money at the edges: review and cancel statuses, refunds, late-payment policy.

- transactions: statuses ``canceled`` and ``needs_review``; ``refunded_amount``
  (partial refunds keep ``completed`` and add up here; each refund is a row in
  ``transaction_refunds``); ``late_checked_at`` (the late-payment sweep's cursor);
  partial indexes for the expire sweep (pending by ``expires_at``) and the
  late-payment sweep (closed without payment by ``updated_at``).
- transaction_events: ``amount`` and ``provider_amount``; source ``sweep``.
- billing_policy: ``late_payment_action`` (grant | refund | hold, default grant) and
  ``late_payment_window_days`` (default 7).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

OLD_STATUSES = "status IN ('pending', 'completed', 'failed', 'expired', 'refunded')"
NEW_STATUSES = (
    "status IN ('pending', 'completed', 'failed', 'expired', 'canceled',"
    " 'needs_review', 'refunded')"
)
OLD_SOURCES = "source IN ('api', 'worker', 'dev', 'cli')"
NEW_SOURCES = "source IN ('api', 'worker', 'dev', 'cli', 'sweep')"
CLOSED_UNPAID = "status IN ('expired', 'failed', 'canceled')"


def upgrade():
    with op.batch_alter_table("transactions") as batch_op:
        batch_op.drop_constraint(op.f("ck_transactions_status_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_transactions_status_known"), NEW_STATUSES)
        batch_op.add_column(
            sa.Column(
                "refunded_amount",
                sa.Numeric(precision=12, scale=2),
                server_default=sa.text("0"),
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("late_checked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_transactions_refunded_amount_non_negative"), "refunded_amount >= 0"
        )
        batch_op.create_index(
            "ix_transactions_pending_expires",
            ["expires_at"],
            unique=False,
            postgresql_where=sa.text("status = 'pending'"),
        )
        batch_op.create_index(
            "ix_transactions_closed_unpaid",
            ["updated_at"],
            unique=False,
            postgresql_where=sa.text(CLOSED_UNPAID),
        )
    # Refunds done before this revision were all full refunds.
    op.execute("UPDATE transactions SET refunded_amount = amount WHERE status = 'refunded'")

    with op.batch_alter_table("transaction_events") as batch_op:
        batch_op.drop_constraint(op.f("ck_transaction_events_source_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_transaction_events_source_known"), NEW_SOURCES)
        batch_op.add_column(sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=True))
        batch_op.add_column(
            sa.Column("provider_amount", sa.Numeric(precision=12, scale=2), nullable=True)
        )

    op.create_table(
        "transaction_refunds",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("transaction_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("provider_operation_id", sa.String(length=128), nullable=True),
        sa.Column("credits_revoked", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_transaction_refunds_amount_positive")),
        sa.CheckConstraint(
            "credits_revoked >= 0",
            name=op.f("ck_transaction_refunds_credits_revoked_non_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["transactions.id"],
            name=op.f("fk_transaction_refunds_transaction_id_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transaction_refunds")),
    )
    with op.batch_alter_table("transaction_refunds") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_transaction_refunds_transaction_id"), ["transaction_id"], unique=False
        )

    with op.batch_alter_table("billing_policy") as batch_op:
        batch_op.add_column(
            sa.Column(
                "late_payment_action",
                sa.String(length=16),
                server_default="grant",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column(
                "late_payment_window_days",
                sa.Integer(),
                server_default=sa.text("7"),
                nullable=False,
            )
        )
        batch_op.create_check_constraint(
            op.f("ck_billing_policy_late_payment_action_known"),
            "late_payment_action IN ('grant', 'refund', 'hold')",
        )
        batch_op.create_check_constraint(
            op.f("ck_billing_policy_late_payment_window_positive"),
            "late_payment_window_days > 0",
        )


def downgrade():
    # Rows in the new statuses or sources cannot be represented before this
    # revision; refuse rather than rewrite history.
    bind = op.get_bind()
    blocked = bind.execute(
        sa.text("SELECT count(*) FROM transactions WHERE status IN ('canceled', 'needs_review')")
    ).scalar()
    if blocked:
        raise RuntimeError(f"{blocked} transactions are canceled or need review; cannot downgrade")
    op.execute("DELETE FROM transaction_events WHERE source = 'sweep'")

    with op.batch_alter_table("billing_policy") as batch_op:
        batch_op.drop_constraint(
            op.f("ck_billing_policy_late_payment_window_positive"), type_="check"
        )
        batch_op.drop_constraint(op.f("ck_billing_policy_late_payment_action_known"), type_="check")
        batch_op.drop_column("late_payment_window_days")
        batch_op.drop_column("late_payment_action")

    with op.batch_alter_table("transaction_refunds") as batch_op:
        batch_op.drop_index(batch_op.f("ix_transaction_refunds_transaction_id"))
    op.drop_table("transaction_refunds")

    with op.batch_alter_table("transaction_events") as batch_op:
        batch_op.drop_column("provider_amount")
        batch_op.drop_column("amount")
        batch_op.drop_constraint(op.f("ck_transaction_events_source_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_transaction_events_source_known"), OLD_SOURCES)

    with op.batch_alter_table("transactions") as batch_op:
        batch_op.drop_index("ix_transactions_closed_unpaid")
        batch_op.drop_index("ix_transactions_pending_expires")
        batch_op.drop_constraint(
            op.f("ck_transactions_refunded_amount_non_negative"), type_="check"
        )
        batch_op.drop_column("late_checked_at")
        batch_op.drop_column("refunded_amount")
        batch_op.drop_constraint(op.f("ck_transactions_status_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_transactions_status_known"), OLD_STATUSES)
