"""Renewals without auto-debit: reminder policy, reminders sent, renewals bought.

``billing_policy``: ``renewal_reminder_days`` (default {7,3,1}) and
``renewal_invoice_to_phone``. ``subscription_reminders``: one row per reminder sent,
unique per club, period end and day (the sweep's exactly-once). ``club_renewals``:
one row per renewal or upgrade transaction; a partial unique index allows one open
renewal per club. ``club_subscriptions``: a downgrade paid ahead
(``scheduled_plan_id`` from ``scheduled_at``). ``club_renewal_phones``: the phone an
owner agreed to receive Kaspi renewal invoices on.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "billing_policy",
        sa.Column(
            "renewal_reminder_days",
            postgresql.ARRAY(sa.Integer()),
            server_default="{7,3,1}",
            nullable=False,
        ),
    )
    op.add_column(
        "billing_policy",
        sa.Column(
            "renewal_invoice_to_phone",
            sa.Boolean(),
            server_default=sa.text("false"),
            nullable=False,
        ),
    )
    op.create_check_constraint(
        op.f("ck_billing_policy_renewal_reminder_days_positive"),
        "billing_policy",
        "0 < ALL(renewal_reminder_days) AND cardinality(renewal_reminder_days) > 0",
    )
    op.add_column(
        "club_subscriptions", sa.Column("scheduled_plan_id", sa.String(length=32), nullable=True)
    )
    op.add_column(
        "club_subscriptions",
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_foreign_key(
        op.f("fk_club_subscriptions_scheduled_plan_id_club_plans"),
        "club_subscriptions",
        "club_plans",
        ["scheduled_plan_id"],
        ["id"],
    )
    op.create_table(
        "subscription_reminders",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("club_id", sa.Uuid(), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("days_before", sa.Integer(), nullable=False),
        sa.Column("days_left", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "days_before > 0", name=op.f("ck_subscription_reminders_days_before_positive")
        ),
        sa.ForeignKeyConstraint(
            ["club_id"],
            ["clubs.id"],
            name=op.f("fk_subscription_reminders_club_id_clubs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_reminders")),
        sa.UniqueConstraint(
            "club_id", "period_end", "days_before", name="uq_subscription_reminders_once"
        ),
    )
    op.create_table(
        "club_renewals",
        sa.Column("transaction_id", sa.Uuid(), nullable=False),
        sa.Column("club_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("plan_id", sa.String(length=32), nullable=False),
        sa.Column("from_plan_id", sa.String(length=32), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "kind IN ('renewal', 'upgrade')", name=op.f("ck_club_renewals_kind_known")
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["transactions.id"],
            name=op.f("fk_club_renewals_transaction_id_transactions"),
        ),
        sa.ForeignKeyConstraint(
            ["club_id"],
            ["clubs.id"],
            name=op.f("fk_club_renewals_club_id_clubs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["club_plans.id"], name=op.f("fk_club_renewals_plan_id_club_plans")
        ),
        sa.ForeignKeyConstraint(
            ["from_plan_id"],
            ["club_plans.id"],
            name=op.f("fk_club_renewals_from_plan_id_club_plans"),
        ),
        sa.PrimaryKeyConstraint("transaction_id", name=op.f("pk_club_renewals")),
    )
    op.create_index(op.f("ix_club_renewals_club_id"), "club_renewals", ["club_id"])
    op.create_table(
        "club_renewal_phones",
        sa.Column("club_id", sa.Uuid(), nullable=False),
        sa.Column("phone", sa.String(length=11), nullable=False),
        sa.Column("consented_by", sa.String(length=128), nullable=False),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "phone ~ '^7[0-9]{10}$'", name=op.f("ck_club_renewal_phones_phone_kz_digits")
        ),
        sa.ForeignKeyConstraint(
            ["club_id"],
            ["clubs.id"],
            name=op.f("fk_club_renewal_phones_club_id_clubs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["consented_by"],
            ["users.id"],
            name=op.f("fk_club_renewal_phones_consented_by_users"),
        ),
        sa.PrimaryKeyConstraint("club_id", name=op.f("pk_club_renewal_phones")),
    )
    op.create_index(
        "uq_club_renewals_one_open",
        "club_renewals",
        ["club_id"],
        unique=True,
        postgresql_where=sa.text("open"),
    )


def downgrade():
    op.drop_table("club_renewal_phones")
    op.drop_table("club_renewals")
    op.drop_table("subscription_reminders")
    op.drop_constraint(
        op.f("fk_club_subscriptions_scheduled_plan_id_club_plans"), "club_subscriptions"
    )
    op.drop_column("club_subscriptions", "scheduled_at")
    op.drop_column("club_subscriptions", "scheduled_plan_id")
    op.drop_constraint(op.f("ck_billing_policy_renewal_reminder_days_positive"), "billing_policy")
    op.drop_column("billing_policy", "renewal_invoice_to_phone")
    op.drop_column("billing_policy", "renewal_reminder_days")
