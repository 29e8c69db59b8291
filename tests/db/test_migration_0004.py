"""Revision 0004 goes down and up again on its own throwaway database, and refuses to
go down while rows use the statuses it introduced."""

from __future__ import annotations

import psycopg
import pytest
from celery import _state as celery_state
from flask_migrate import downgrade, upgrade

from app import create_app
from app.config import normalize_db_url
from app.extensions import db
from scripts.localservices import recreate_database
from tests.conftest import TEST_DB_NAME

pytestmark = pytest.mark.db


@pytest.fixture
def scratch(services, app_config):
    name = f"{TEST_DB_NAME}_mig0004"
    recreate_database(services.postgres_server_url, name)
    url = services.database_url(name)
    previous = celery_state.default_app
    scratch_app = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": normalize_db_url(url)})
    if previous is not None:
        previous.set_default()
    yield scratch_app, url
    with scratch_app.app_context():
        db.engine.dispose()
    with psycopg.connect(services.postgres_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def columns(url: str, table: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s", (table,)
        ).fetchall()
    return {row[0] for row in rows}


def test_0004_downgrades_and_upgrades_again(scratch):
    scratch_app, url = scratch
    with scratch_app.app_context():
        upgrade()
        assert {"refunded_amount", "late_checked_at"} <= columns(url, "transactions")
        downgrade(revision="0003")
        assert "refunded_amount" not in columns(url, "transactions")
        assert columns(url, "transaction_refunds") == set()
        upgrade()
    assert {"amount", "provider_amount"} <= columns(url, "transaction_events")
    assert {"late_payment_action", "late_payment_window_days"} <= columns(url, "billing_policy")


def test_0004_refuses_to_downgrade_over_rows_in_its_new_statuses(scratch):
    scratch_app, url = scratch
    with scratch_app.app_context():
        upgrade()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("INSERT INTO users (id) VALUES ('u')")
            conn.execute(
                "INSERT INTO transactions (id, user_id, product_code, quantity, amount, currency,"
                " status, provider, poll_interval_s, poll_attempts, expires_at)"
                " VALUES (gen_random_uuid(), 'u', 'EVENT_UPGRADE_500', 1, 1000, 'KZT',"
                " 'needs_review', 'kaspi', 5, 0, now())"
            )
        with pytest.raises(SystemExit):  # flask-migrate exits on the migration's refusal
            downgrade(revision="0003")
    assert "refunded_amount" in columns(url, "transactions")
