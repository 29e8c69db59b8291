"""Refund attempts: a refund is written down before Kaspi is asked.

``refund_attempts``: one row per refund sent to Kaspi, inserted in the same
database transaction that reserves it (revokes the credits it returns), so a
refund whose answer is lost is never forgotten: it is held for review as
``unknown`` and re-asked at Kaspi until its outcome is known.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


_SOURCES_BEFORE = "source IN ('api', 'worker', 'dev', 'cli', 'sweep')"
_SOURCES = "source IN ('api', 'worker', 'dev', 'cli', 'sweep', 'recheck')"


_SETTLED_BEFORE = "(status IN ('completed', 'refunded')) = (settled_at IS NOT NULL)"
# A completed transaction held for review (its refund's answer lost) stays settled.
_SETTLED = (
    "CASE WHEN status IN ('completed', 'refunded') THEN settled_at IS NOT NULL"
    " WHEN status = 'needs_review' THEN true ELSE settled_at IS NULL END"
)


def upgrade():
    # The refund re-check is a source of audit events of its own.
    _replace_sources_check(_SOURCES)
    _replace_check("transactions", "ck_transactions_settled_iff_paid", _SETTLED)
    op.create_table(
        "refund_attempts",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("transaction_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("refunded_total", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("paid", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("credit_ids", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("prior_status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount > 0", name=op.f("ck_refund_attempts_amount_positive")),
        sa.CheckConstraint(
            "kind IN ('full', 'unused', 'late', 'review')",
            name=op.f("ck_refund_attempts_kind_known"),
        ),
        sa.CheckConstraint(
            "state IN ('asking', 'done', 'failed', 'unknown')",
            name=op.f("ck_refund_attempts_state_known"),
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["transactions.id"],
            name=op.f("fk_refund_attempts_transaction_id_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refund_attempts")),
    )
    op.create_index(
        op.f("ix_refund_attempts_transaction_id"), "refund_attempts", ["transaction_id"]
    )
    # The re-check sweep's queue: only refunds whose outcome is unknown.
    op.create_index(
        "ix_refund_attempts_unknown",
        "refund_attempts",
        ["checked_at"],
        postgresql_where=sa.text("state = 'unknown'"),
    )


def downgrade():
    op.drop_table("refund_attempts")
    _replace_sources_check(_SOURCES_BEFORE)
    _replace_check("transactions", "ck_transactions_settled_iff_paid", _SETTLED_BEFORE)


def _replace_sources_check(condition):
    _replace_check("transaction_events", "ck_transaction_events_source_known", condition)


def _replace_check(table, name, condition):
    # Plain SQL: the constraint keeps exactly the name the model's convention gives it.
    op.execute(
        f"ALTER TABLE {table} DROP CONSTRAINT {name}, ADD CONSTRAINT {name} CHECK ({condition})"
    )
