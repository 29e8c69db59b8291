"""Seed the catalog: the event upgrade product, club plans and billing policy.

Prices and limits live here as data, never in code; operators change them with
`flask --app wsgi billing set-price` or SQL.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PLANS = [
    # id, title, price, max_members, max_event_participants, paid_events, csv_export, is_default
    ("free", "Free", "0.00", None, 15, False, False, True),
    ("club_50", "Club 50", "5000.00", 50, 50, True, True, False),
    ("club_500", "Club 500", "15000.00", 500, 500, True, True, False),
    ("club_unlimited", "Club Unlimited", "30000.00", None, None, True, True, False),
]

PRODUCTS = [
    # code, type, title, price, constraints, plan_id
    (
        "EVENT_UPGRADE_500",
        "credit",
        "Event upgrade (up to 500 participants)",
        "1000.00",
        {"scope": "personal", "max_participants": 500},
        None,
    ),
    ("CLUB_50", "plan", "Club 50 subscription (30 days)", "5000.00", {}, "club_50"),
    ("CLUB_500", "plan", "Club 500 subscription (30 days)", "15000.00", {}, "club_500"),
    (
        "CLUB_UNLIMITED",
        "plan",
        "Club Unlimited subscription (30 days)",
        "30000.00",
        {},
        "club_unlimited",
    ),
]

# Club actions each subscription status allows; grace keeps everything working.
ACTIONS = ("create_event", "update_event", "publish_event")
DENIED_IN = ("pending", "expired")


def upgrade():
    plans = sa.table(
        "club_plans",
        sa.column("id", sa.String),
        sa.column("title", sa.String),
        sa.column("price", sa.Numeric),
        sa.column("currency", sa.String),
        sa.column("period_days", sa.Integer),
        sa.column("max_members", sa.Integer),
        sa.column("max_event_participants", sa.Integer),
        sa.column("paid_events", sa.Boolean),
        sa.column("csv_export", sa.Boolean),
        sa.column("is_default", sa.Boolean),
    )
    products = sa.table(
        "billing_products",
        sa.column("code", sa.String),
        sa.column("type", sa.String),
        sa.column("title", sa.String),
        sa.column("price", sa.Numeric),
        sa.column("currency", sa.String),
        sa.column("constraints", sa.JSON),
        sa.column("plan_id", sa.String),
        sa.column("active", sa.Boolean),
    )
    policy = sa.table(
        "billing_policy",
        sa.column("id", sa.Integer),
        sa.column("pending_ttl_minutes", sa.Integer),
        sa.column("grace_days", sa.Integer),
    )
    actions = sa.table(
        "billing_policy_actions",
        sa.column("subscription_status", sa.String),
        sa.column("action", sa.String),
        sa.column("allowed", sa.Boolean),
    )
    op.bulk_insert(
        plans,
        [
            {
                "id": p[0],
                "title": p[1],
                "price": p[2],
                "currency": "KZT",
                "period_days": 30,
                "max_members": p[3],
                "max_event_participants": p[4],
                "paid_events": p[5],
                "csv_export": p[6],
                "is_default": p[7],
            }
            for p in PLANS
        ],
    )
    op.bulk_insert(
        products,
        [
            {
                "code": p[0],
                "type": p[1],
                "title": p[2],
                "price": p[3],
                "currency": "KZT",
                "constraints": p[4],
                "plan_id": p[5],
                "active": True,
            }
            for p in PRODUCTS
        ],
    )
    op.bulk_insert(policy, [{"id": 1, "pending_ttl_minutes": 60, "grace_days": 7}])
    op.bulk_insert(
        actions,
        [
            {"subscription_status": status, "action": action, "allowed": status not in DENIED_IN}
            for status in ("pending", "active", "grace", "expired")
            for action in ACTIONS
        ],
    )
    # Exactly one default (free) plan.
    op.create_index(
        "uq_club_plans_single_default",
        "club_plans",
        ["is_default"],
        unique=True,
        postgresql_where=sa.text("is_default"),
    )


def downgrade():
    op.drop_index("uq_club_plans_single_default", table_name="club_plans")
    op.execute("DELETE FROM billing_policy_actions")
    op.execute("DELETE FROM billing_policy")
    op.execute("DELETE FROM billing_products")
    op.execute("DELETE FROM club_plans")
