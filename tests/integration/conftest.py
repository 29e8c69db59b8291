"""The integration tier: real gunicorn, Celery and Kaspi stub processes.

Rows are committed for real here (processes must see them), so each test starts
from emptied transactional tables and the catalog restored to its seed, and the
tier has a database of its own: what it leaves behind is never seen by the db
tier, whichever runs first in a session.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from app.extensions import db
from scripts.localservices import Services
from tests.conftest import (
    JWT_SECRET,
    KASPI_KEY,
    TEST_DB_NAME,
    config_for,
    migrated_app,
    throwaway_database,
)
from tests.support.processes import Process, start_celery_worker, start_gunicorn

MUTABLE_TABLES = (
    "transaction_events",
    "billing_credits",
    "subscription_grants",
    "club_subscriptions",
    "transactions",
    "idempotency_records",
    "events",
    "club_members",
    "clubs",
    "users",
)
CATALOG_TABLES = ("billing_products", "club_plans", "billing_policy", "billing_policy_actions")
INTEGRATION_DB_NAME = f"{TEST_DB_NAME}_it"


# The tier's own database: `database_url`, and the session fixtures built on it, are
# overridden here together (a session fixture keeps the value it was first made with).
@pytest.fixture(scope="session")
def database_url(services: Services) -> Iterator[str]:
    """The integration tier's throwaway database, apart from the db tier's."""
    yield from throwaway_database(services, INTEGRATION_DB_NAME)


@pytest.fixture(scope="session")
def app_config(database_url: str, redis_url: str, kaspi_stub: str, fiscal_stub: str) -> dict:
    from tests.support.fiscal_stub_server import fiscal_config

    return {**config_for(database_url, redis_url, kaspi_stub), **fiscal_config(fiscal_stub)}


@pytest.fixture(scope="session")
def app(app_config: dict):
    yield from migrated_app(app_config)


@pytest.fixture(scope="session")
def catalog_snapshot(app) -> dict[str, list[dict]]:
    with app.app_context():
        return {
            table: [
                dict(row._mapping) for row in db.session.execute(text(f"SELECT * FROM {table}"))
            ]
            for table in CATALOG_TABLES
        }


@pytest.fixture
def clean_db(app, catalog_snapshot) -> None:
    """Empty every transactional table and restore the catalog's seed values."""
    with app.app_context():
        db.session.execute(text(f"TRUNCATE {', '.join(MUTABLE_TABLES)} CASCADE"))
        for table in ("billing_policy_actions", "billing_policy", "billing_products", "club_plans"):
            pk = {
                "billing_products": ["code"],
                "club_plans": ["id"],
                "billing_policy": ["id"],
                "billing_policy_actions": ["subscription_status", "action"],
            }[table]
            for row in catalog_snapshot[table]:
                sets = ", ".join(f"{col} = :{col}" for col in row if col not in pk)
                where = " AND ".join(f"{col} = :{col}" for col in pk)
                params = {k: (json.dumps(v) if isinstance(v, dict) else v) for k, v in row.items()}
                db.session.execute(text(f"UPDATE {table} SET {sets} WHERE {where}"), params)
        db.session.commit()
        db.session.remove()


def service_env(app_config: dict, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "BILLING_ENV": "testing",
            "DATABASE_URL": app_config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": app_config["REDIS_URL"],
            "AUTH_JWT_SECRET": JWT_SECRET,
            "KASPI_API_KEY": KASPI_KEY,
            "BILLING_DEV_ENDPOINTS": "1",
            "POLL_INITIAL_DELAY_S": "0.2",
            "POLL_MAX_DELAY_S": "1",
            "SWEEP_INTERVAL_S": "0.5",
        }
    )
    # The fiscal register the tier's app uses (tests/support/fiscal_stub_server.py).
    env.update({k: str(v) for k, v in app_config.items() if k.startswith("FISCAL_")})
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def api_server(app, app_config, kaspi_stub) -> Iterator[str]:
    """gunicorn with several worker processes serving wsgi:app."""
    env = service_env(app_config, KASPI_BASE_URL=kaspi_stub)
    proc, base_url = start_gunicorn("api", "wsgi:app", env, workers=4)
    try:
        yield base_url
    finally:
        proc.stop()


@pytest.fixture
def worker_env(app_config, kaspi_stub) -> dict[str, str]:
    return service_env(app_config, KASPI_BASE_URL=kaspi_stub)


@pytest.fixture
def celery_worker(worker_env) -> Iterator[Process]:
    proc = start_celery_worker(worker_env)
    try:
        yield proc
    finally:
        proc.stop()
