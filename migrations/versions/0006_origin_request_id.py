"""The purchase request that created a transaction, on its row.

``transactions.origin_request_id``: the X-Request-ID of the purchase, written by
the INSERT that creates the row. The worker's log lines about the transaction
carry it. It used to live in Redis under a key with a TTL, written by a
background thread of each API process; rows created before this revision have
none (their keys expire on their own).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    # Nullable with no default: PostgreSQL adds it without rewriting the table.
    op.add_column("transactions", sa.Column("origin_request_id", sa.String(length=128)))


def downgrade():
    op.drop_column("transactions", "origin_request_id")
