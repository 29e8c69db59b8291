"""One open purchase per event: a transaction names the event its upgrade is for.

``transactions.event_id``: the personal event a one-off upgrade is bought for
(NULL for plans and for purchases made without naming one). A partial unique
index lets at most one pending transaction name an event, so a second browser of
the same buyer cannot start a second payment for it however the requests race;
the API answers 409 ``PURCHASE_IN_PROGRESS`` with the open one. Deleting the
event keeps the purchase (money facts stay) and forgets the event.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("transactions", sa.Column("event_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        "fk_transactions_event_id_events",
        "transactions",
        "events",
        ["event_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index(
        "uq_transactions_open_event",
        "transactions",
        ["event_id"],
        unique=True,
        postgresql_where=sa.text("status = 'pending' AND event_id IS NOT NULL"),
    )


def downgrade():
    op.drop_index("uq_transactions_open_event", table_name="transactions")
    op.drop_constraint("fk_transactions_event_id_events", "transactions", type_="foreignkey")
    op.drop_column("transactions", "event_id")
