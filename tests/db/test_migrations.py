"""Migrations are the schema: models and migrations never drift."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

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
