"""Migrations are the schema: models and migrations never drift."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text

from app.catalog.models import BillingPolicy, Plan, PolicyAction, Product
from app.extensions import db

pytestmark = pytest.mark.db


def test_models_match_migrations(app):
    with app.app_context(), db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


def test_fresh_database_has_seeded_catalog(db_session):
    products = {p.code: p for p in db_session.scalars(select(Product))}
    assert str(products["EVENT_UPGRADE_500"].price) == "1000.00"
    assert products["EVENT_UPGRADE_500"].constraints == {
        "scope": "personal",
        "max_participants": 500,
    }
    assert {products[c].plan_id for c in ("CLUB_50", "CLUB_500", "CLUB_UNLIMITED")} == {
        "club_50",
        "club_500",
        "club_unlimited",
    }
    plans = {p.id: p for p in db_session.scalars(select(Plan))}
    assert plans["free"].max_event_participants == 15 and plans["free"].is_default
    assert plans["club_unlimited"].max_event_participants is None
    assert str(plans["club_500"].price) == "15000.00"
    policy = db_session.get(BillingPolicy, 1)
    assert (policy.pending_ttl_minutes, policy.grace_days) == (60, 7)
    denied = {
        (a.subscription_status, a.action)
        for a in db_session.scalars(select(PolicyAction).where(PolicyAction.allowed.is_(False)))
    }
    assert ("expired", "publish_event") in denied and ("pending", "create_event") in denied
    assert not any(status == "grace" for status, _ in denied)


def test_late_payment_policy_defaults_to_grant_within_seven_days(db_session):
    policy = db_session.get(BillingPolicy, 1)
    assert (policy.late_payment_action, policy.late_payment_window_days) == ("grant", 7)


def _plan(db_session, query: str) -> str:
    rows = db_session.execute(text("EXPLAIN (FORMAT TEXT) " + query)).scalars().all()
    return "\n".join(rows)


def test_expire_and_late_payment_sweeps_are_index_scans_at_10k_rows(db_session):
    # 10k pending rows and 10k closed ones, then fresh statistics: the planner
    # chooses on its own (no enable_seqscan tricks).
    db_session.execute(text("INSERT INTO users (id) VALUES ('sweep-plan-user')"))
    db_session.execute(
        text(
            "INSERT INTO transactions (id, user_id, product_code, quantity, amount, currency,"
            " status, provider, poll_interval_s, poll_attempts, expires_at, updated_at,"
            " settled_at)"
            " SELECT gen_random_uuid(), 'sweep-plan-user', 'EVENT_UPGRADE_500', 1, 1000, 'KZT',"
            " CASE WHEN n % 2 = 0 THEN 'pending' ELSE 'completed' END, 'kaspi', 5, 0,"
            " now() + (n || ' seconds')::interval, now(),"
            " CASE WHEN n % 2 = 0 THEN NULL ELSE now() END"
            " FROM generate_series(1, 20000) AS n"
        )
    )
    db_session.execute(
        text(
            "UPDATE transactions SET status = 'expired', settled_at = NULL"
            " WHERE user_id = 'sweep-plan-user' AND status = 'completed'"
            " AND ctid IN (SELECT ctid FROM transactions WHERE status = 'completed' LIMIT 500)"
        )
    )
    db_session.execute(text("ANALYZE transactions"))

    expire = _plan(
        db_session,
        "SELECT id FROM transactions WHERE status = 'pending' AND expires_at <= now()"
        " ORDER BY expires_at LIMIT 200",
    )
    late = _plan(
        db_session,
        "SELECT id FROM transactions WHERE status IN ('expired', 'failed', 'canceled')"
        " AND updated_at >= now() - interval '7 days' ORDER BY updated_at LIMIT 200",
    )

    assert "ix_transactions_pending_expires" in expire, expire
    assert "ix_transactions_closed_unpaid" in late, late
