"""Shared fixtures: real PostgreSQL and Redis (embedded ones when none answers)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection
from sqlalchemy.orm import scoped_session, sessionmaker

from app import create_app
from app.auth.tokens import issue_token
from app.db import SINGLE_STATEMENTS, autocommit_engine
from app.extensions import db
from scripts.localservices import (
    Services,
    drop_database,
    ensure_services,
    recreate_database,
)
from tests.support import owned

# Unique per session unless TEST_DATABASE_NAME names one; only this database is dropped.
TEST_DB_NAME = owned.unique_database_name()
JWT_SECRET = "test-secret-0123456789abcdef0123456789"
KASPI_KEY = "test-kaspi-key"


# The cluster tier (tests/cluster) is `make test-cluster`'s, which sets
# BILLING_CLUSTER_TESTS=1; the README's test command does not collect it at all, so
# nothing of it is counted as skipped.
collect_ignore = [] if os.environ.get("BILLING_CLUSTER_TESTS") == "1" else ["cluster"]


def pytest_configure(config: pytest.Config) -> None:
    # The coverage floor is for the whole suite (`make test`): a run of one file or one
    # tier still reports coverage, but covers less by design and must not fail on it.
    coverage = config.pluginmanager.getplugin("_cov")
    whole_suite = (
        config.args_source is pytest.Config.ArgsSource.TESTPATHS
        and not config.option.keyword
        and not config.option.markexpr
    )
    asked = config.option.cov_fail_under is not None  # --cov-fail-under on the command line
    if coverage is not None and not whole_suite and not asked:
        coverage.options.cov_fail_under = None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # In parallel runs (pytest-xdist, --dist loadfile --no-loadscope-reorder, as
    # `make test` runs it) files are handed out in this order: files with a test
    # marked slow (minutes each) first, then the rest of the integration tier, and
    # the many short db and unit files fill the gaps at the end.
    # The tiers pass in any order.
    if getattr(config.option, "dist", "no") == "no":
        return
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    tier_order = {"integration": 0, "db": 1, "unit": 2}
    items.sort(
        key=lambda item: (
            item.path not in slow_files,
            tier_order.get(item.path.parent.name, len(tier_order)),
        )
    )


@pytest.fixture(scope="session")
def services(pytestconfig) -> Services:
    """The servers TEST_DATABASE_URL / TEST_REDIS_URL name, or embedded ones (saying why)."""
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    capture = pytestconfig.pluginmanager.get_plugin("capturemanager")

    def say(line: str) -> None:  # on the terminal, not in captured output
        if reporter is None or capture is None:
            return
        with capture.global_and_fixture_disabled():
            reporter.write_line(line)

    return ensure_services(
        os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
        say=say,
        variables=("TEST_DATABASE_URL", "TEST_REDIS_URL"),
    )


def throwaway_database(services: Services, name: str) -> Iterator[str]:
    """A database of this session named ``name``, dropped at the end (a generator fixture body)."""
    recreate_database(services.postgres_server_url, name)
    yield services.database_url(name)
    try:
        drop_database(services.postgres_server_url, name)
    except Exception as exc:
        warnings.warn(f"could not drop {name}: {exc}", stacklevel=1)


@pytest.fixture(scope="session")
def database_url(services: Services) -> Iterator[str]:
    """A throwaway database of this session, brought up by the migrations alone."""
    yield from throwaway_database(services, TEST_DB_NAME)


@pytest.fixture(scope="session")
def redis_url(services: Services) -> Iterator[str]:
    """A Redis database this session owns: claimed empty, flushed only by its owner.

    Under pytest-xdist, TEST_REDIS_URL names the first worker's database; the other
    workers claim free ones on the same server."""
    explicit = "TEST_REDIS_URL" in os.environ and owned.xdist_worker() in ("", "gw0")
    with owned.redis_database(services, explicit=explicit) as url:
        yield url


@pytest.fixture(scope="session")
def kaspi_stub(tmp_path_factory) -> Iterator[str]:
    """The Kaspi stub under gunicorn, reached over real HTTP by every tier that pays."""
    from tests.support.stub_server import start_stub

    base_url, stop = start_stub(tmp_path_factory.mktemp("kaspi"), KASPI_KEY)
    try:
        yield base_url
    finally:
        stop()


@pytest.fixture(scope="session")
def fiscal_stub(tmp_path_factory) -> Iterator[str]:
    """The cloud-register stub under gunicorn: every tier's app issues receipts through it."""
    from tests.support.fiscal_stub_server import start_fiscal_stub

    base_url, stop = start_fiscal_stub(tmp_path_factory.mktemp("fiscal"))
    try:
        yield base_url
    finally:
        stop()


def config_for(database_url: str, redis_url: str, kaspi_stub: str) -> dict:
    """The testing profile's settings on these servers."""
    from app.config import normalize_db_url

    return {
        "PROFILE": "testing",
        "BILLING_DEV_ENDPOINTS": True,
        "SQLALCHEMY_DATABASE_URI": normalize_db_url(database_url),
        "REDIS_URL": redis_url,
        "AUTH_JWT_SECRET": JWT_SECRET,
        "KASPI_API_KEY": KASPI_KEY,
        "KASPI_BASE_URL": kaspi_stub,
        "KASPI_TIMEOUT_S": 2.0,
    }


def migrated_app(app_config: dict) -> Iterator[Flask]:
    """The app on a database its migrations bring up; its pool closed at the end."""
    from flask_migrate import upgrade

    application = create_app(dict(app_config))
    with application.app_context():
        upgrade()
        db.engine.dispose()
    yield application
    with application.app_context():
        db.engine.dispose()  # close the pooled connections before the session ends


@pytest.fixture(scope="session")
def app_config(database_url: str, redis_url: str, kaspi_stub: str, fiscal_stub: str) -> dict:
    from tests.support.fiscal_stub_server import fiscal_config

    return {**config_for(database_url, redis_url, kaspi_stub), **fiscal_config(fiscal_stub)}


@pytest.fixture(scope="session")
def app(app_config: dict):
    yield from migrated_app(app_config)


@pytest.fixture
def make_app(app: Flask, app_config: dict) -> Iterator[Callable[..., Flask]]:
    """Another app on the test database with other settings; its pool is closed afterwards.

    It needs ``app`` for the schema its migrations made: a test that uses only this
    fixture also passes when it runs alone."""
    from celery import _state as celery_state

    made: list[Flask] = []
    # create_app makes its Celery app the process's default, which the tasks a test
    # runs in-process are bound to; afterwards they run on the session's app again.
    previous = celery_state.default_app

    def build(**overrides: object) -> Flask:
        application = create_app({**app_config, **overrides})
        made.append(application)
        return application

    yield build
    if previous is not None:
        previous.set_default()
    for application in made:
        with application.app_context():
            db.engine.dispose()
            autocommit_engine().dispose()


@pytest.fixture
def db_session(app) -> Iterator:
    """Each test runs inside one outer transaction that is rolled back at its end.

    The code under test commits for real (to a SAVEPOINT the outer transaction
    holds), so commit paths and after-commit hooks run as in production. Single
    statements (``write_alone``, ``read_first``), which production sends alone in
    autocommit, run on the same connection, each in a savepoint of its own.
    """
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        session = scoped_session(
            sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
        )
        original = db.session
        db.session = session
        app.extensions[SINGLE_STATEMENTS] = lambda: _alone_in_a_savepoint(session, connection)
        try:
            yield session
        finally:
            app.extensions.pop(SINGLE_STATEMENTS, None)
            session.remove()
            db.session = original
            outer.rollback()
            connection.close()


# The savepoint a statement sent alone runs in, named so that a test counting steps
# (the session's savepoints) can tell it from theirs.
ALONE = "sent_alone"


@contextmanager
def _alone_in_a_savepoint(session: scoped_session, connection: Connection) -> Iterator[Connection]:
    """The db tier's stand-in for a statement sent alone in autocommit.

    What it writes is visible to the test at once and rolled back with the test; a
    statement that fails rolls back to the savepoint, so the test's transaction stays
    usable, as a failed autocommit statement leaves the database.
    """
    connection.exec_driver_sql(f"SAVEPOINT {ALONE}")
    try:
        yield connection
        # Reads made through the session meanwhile (a catalog check) opened its own
        # savepoint inside this one, and the statement ran in it: release it to keep the
        # statement. Production ends those reads with a ROLLBACK, which drops anything
        # added to the session; a COMMIT here would write it instead, so it is refused.
        if session.registry.has() and session().in_transaction():
            pending = session.new | session.dirty | session.deleted
            assert not pending, f"added to the session beside a statement sent alone: {pending}"
            session.commit()
    except BaseException:
        if session.registry.has() and session().in_transaction():
            session.rollback()
        connection.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {ALONE}")
        raise
    connection.exec_driver_sql(f"RELEASE SAVEPOINT {ALONE}")


@pytest.fixture
def client(app, db_session):
    """A test client whose requests see what the test wrote, as another process would.

    Each request is an edge that refuses to start inside an open transaction, so
    the test's own writes (factories) are committed first — to the savepoint the
    test's outer transaction holds, so they still vanish at the end.
    """

    class CommittingClient(FlaskClient):
        def open(self, *args, **kwargs):
            db_session.commit()
            return super().open(*args, **kwargs)

    app.test_client_class = CommittingClient
    try:
        yield app.test_client()
    finally:
        app.test_client_class = None


def token_for(user_id: str, ttl: int = 3600, secret: str = JWT_SECRET) -> str:
    return issue_token(secret, user_id, ttl)


def auth(user_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(user_id)}"}
