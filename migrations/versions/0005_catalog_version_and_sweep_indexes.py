"""Catalog version for per-process caches; indexes that keep the subscription sweep flat.

- ``catalog_version``: one row whose ``version`` every change to a catalog table
  sets to a fresh number (statement-level triggers, so set-price, a migration or
  a hand-written UPDATE all count). Processes cache the catalog and re-read it
  only when the version they cached is no longer current. The numbers come from
  a sequence, which a rollback does not give back: a version seen inside a
  transaction that rolled back is never current again.
- ``club_subscriptions``: partial indexes for the lifecycle sweep (active rows by
  period end, grace rows by grace end), so it never scans the whole table.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

CATALOG_TABLES = ("billing_products", "club_plans", "billing_policy", "billing_policy_actions")


def upgrade():
    op.create_table(
        "catalog_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_catalog_version_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_version")),
    )
    op.execute("CREATE SEQUENCE catalog_version_seq")
    op.execute(
        "INSERT INTO catalog_version (id, version) VALUES (1, nextval('catalog_version_seq'))"
    )
    op.execute(
        """
        CREATE FUNCTION bump_catalog_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE catalog_version SET version = nextval('catalog_version_seq') WHERE id = 1;
            RETURN NULL;
        END
        $$
        """
    )
    for table in CATALOG_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_bump_catalog_version "
            f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_version()"
        )
    with op.batch_alter_table("club_subscriptions") as batch_op:
        batch_op.create_index(
            "ix_club_subscriptions_active_end",
            ["current_period_end"],
            unique=False,
            postgresql_where=sa.text("status = 'active'"),
        )
        batch_op.create_index(
            "ix_club_subscriptions_grace_end",
            ["grace_until"],
            unique=False,
            postgresql_where=sa.text("status = 'grace'"),
        )


def downgrade():
    with op.batch_alter_table("club_subscriptions") as batch_op:
        batch_op.drop_index("ix_club_subscriptions_grace_end")
        batch_op.drop_index("ix_club_subscriptions_active_end")
    for table in CATALOG_TABLES:
        op.execute(f"DROP TRIGGER {table}_bump_catalog_version ON {table}")
    op.execute("DROP FUNCTION bump_catalog_version()")
    op.drop_table("catalog_version")
    op.execute("DROP SEQUENCE catalog_version_seq")
