"""The benchmarks' own world: a throwaway database, a Redis DB it claimed, a Kaspi stub.

The database gets a name of its own per run (``billing_bench_<pid>_<random>``,
or ``BENCH_DB``), and the Redis database is one that was empty when the run
claimed it, or a redis-server of the run's own when none is free
(tests/support/owned.py's ``redis_database``, the one the test suite uses): two
runs side by side, or a run beside the tests, never touch each other's data,
and nothing a run did not create is dropped or flushed.

Everything created here is registered on an ExitStack before anything waits on
it, so an error or Ctrl-C at any point still drops the database, releases the
Redis database and stops the stub.
"""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from benchmarks import servers
from scripts.localservices import drop_database, ensure_services, recreate_database
from tests.support import owned

BENCH_DB = os.environ.get("BENCH_DB") or f"billing_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
# Long enough for the production check too, though the benchmarks run as "testing".
JWT_SECRET = "bench-secret-0123456789abcdef0123456789"
KASPI_KEY = "bench-kaspi-key"
# Same polling schedule as the integration tier, so results compare with its runs.
POLL_SETTINGS = {"POLL_INITIAL_DELAY_S": "0.2", "POLL_MAX_DELAY_S": "1", "SWEEP_INTERVAL_S": "0.5"}


@dataclass
class Stack:
    server_url: str  # the PostgreSQL maintenance database, for CREATE/DROP
    database_url: str
    redis_url: str
    kaspi_url: str
    workdir: Path
    env: dict[str, str]  # what every child process (gunicorn, celery) runs with
    app: Flask  # the benchmark's own in-process app, on the same database


def service_env(database_url: str, redis_url: str, kaspi_url: str) -> dict[str, str]:
    """The environment of tests/integration/conftest.py's service_env, for benchmarks."""
    env = dict(os.environ)
    env.update(
        {
            "BILLING_ENV": "testing",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "AUTH_JWT_SECRET": JWT_SECRET,
            "KASPI_API_KEY": KASPI_KEY,
            "KASPI_BASE_URL": kaspi_url,
            "BILLING_DEV_ENDPOINTS": "1",
            **POLL_SETTINGS,
        }
    )
    return env


def _create_migrated_app(env: dict[str, str]) -> Flask:
    from flask_migrate import upgrade

    from app import create_app
    from app.config import normalize_db_url

    app = create_app(
        {
            "PROFILE": "testing",
            "SQLALCHEMY_DATABASE_URI": normalize_db_url(env["DATABASE_URL"]),
            "REDIS_URL": env["REDIS_URL"],
            "AUTH_JWT_SECRET": JWT_SECRET,
            "KASPI_API_KEY": KASPI_KEY,
            "KASPI_BASE_URL": env["KASPI_BASE_URL"],
            "BILLING_DEV_ENDPOINTS": True,
            **{key: float(value) for key, value in POLL_SETTINGS.items()},
        }
    )
    # create_app and alembic's env.py turn on INFO logging; the output is the numbers.
    logging.disable(logging.INFO)
    try:
        with app.app_context():
            upgrade()
    finally:
        logging.disable(logging.NOTSET)
    logging.getLogger().setLevel(logging.WARNING)
    return app


def open_stack(cleanup: ExitStack) -> Stack:
    services = ensure_services(
        os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
    )
    workdir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="billing-bench-")))

    cleanup.callback(drop_database, services.postgres_server_url, BENCH_DB)
    recreate_database(services.postgres_server_url, BENCH_DB)
    database_url = services.database_url(BENCH_DB)

    # As the tests' redis_url fixture: a database claimed empty (BENCH_REDIS_URL: that one,
    # flushed only if it was), or a redis-server of this run when none is free.
    redis_url = cleanup.enter_context(
        owned.redis_database(services, explicit="BENCH_REDIS_URL" in os.environ)
    )

    kaspi_url = servers.start_stub(cleanup, workdir, KASPI_KEY)
    env = service_env(database_url, redis_url, kaspi_url)
    app = _create_migrated_app(env)
    cleanup.callback(_dispose_engine, app)
    return Stack(
        services.postgres_server_url, database_url, redis_url, kaspi_url, workdir, env, app
    )


def _dispose_engine(app: Flask) -> None:
    from app.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()
