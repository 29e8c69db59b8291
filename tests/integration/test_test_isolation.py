"""The test command's own data: a Redis database it claimed empty, databases of its own,
and tiers that pass in any order in one session."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest
import redis
from sqlalchemy import select

from app.auth.models import User
from app.extensions import db
from scripts.embedded import EmbeddedRedis, free_port, start_for_this_process
from scripts.localservices import database_name
from tests.conftest import TEST_DB_NAME
from tests.support import owned
from tests.support.factories import make_user

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def own_redis() -> str:
    """A redis-server of this test alone: the claim logic runs against it, not a shared one."""
    root = Path(tempfile.mkdtemp(prefix="billing-claims-"))
    atexit.register(shutil.rmtree, root, True)  # after the server's own atexit stop
    return start_for_this_process(EmbeddedRedis(root / "redis", free_port()))


def test_a_claim_skips_databases_in_use_and_flushes_only_its_own(own_redis):
    someone_else = redis.Redis.from_url(own_redis.replace("/0", "/15"))
    someone_else.set("their:key", "keep me")

    claim = owned.claim(own_redis, explicit=False)
    assert claim is not None and claim.claimed
    assert claim.url.endswith("/14")  # 15 holds someone's data
    mine = redis.Redis.from_url(claim.url)
    mine.set("celery", "a queue of ours")
    claim.release()

    assert mine.dbsize() == 0
    assert someone_else.get("their:key") == b"keep me"


def test_an_explicit_database_with_foreign_keys_is_used_but_never_flushed(own_redis):
    url = own_redis.replace("/0", "/9")
    foreign = redis.Redis.from_url(url)
    foreign.set("their:key", "keep me")
    with pytest.warns(UserWarning, match="did not create"):
        claim = owned.claim(url, explicit=True)
    assert claim.url == url and not claim.claimed
    claim.release()
    assert foreign.get("their:key") == b"keep me"


def test_a_crashed_sessions_marker_lets_the_next_session_clean_up(own_redis):
    url = own_redis.replace("/0", "/8")
    left = redis.Redis.from_url(url)
    dead_pid = 2**22 + 12345  # above pid_max's default: never alive
    left.set(owned.MARKER, f"{owned.socket.gethostname()}:{dead_pid}")
    left.set("celery", "a stale queue")
    claim = owned.claim(url, explicit=True)
    assert claim.claimed and left.get("celery") is None
    claim.release()


def test_the_session_database_name_is_unique_unless_named(monkeypatch):
    monkeypatch.delenv("TEST_DATABASE_NAME", raising=False)
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)  # a session of one process
    first, second = owned.unique_database_name(), owned.unique_database_name()
    assert first != second and first.startswith(f"billing_test_{os.getpid()}_")
    monkeypatch.setenv("TEST_DATABASE_NAME", "billing_test_mine")
    assert owned.unique_database_name() == "billing_test_mine"


def test_each_xdist_worker_gets_a_database_name_of_its_own(monkeypatch):
    monkeypatch.setenv("TEST_DATABASE_NAME", "billing_test_mine")
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    assert owned.unique_database_name() == "billing_test_mine_gw1"
    monkeypatch.delenv("TEST_DATABASE_NAME")
    # Without a name: the worker's own pid, and a random part besides.
    assert owned.unique_database_name().startswith(f"billing_test_{os.getpid()}_")


def test_rows_the_integration_tier_commits_never_reach_the_db_tier(app, services, database_url):
    """The integration tier commits for real and leaves its last test's rows; the db tier,
    run later in the same session, must not see them: the tiers have databases apart."""
    assert database_name(database_url) != TEST_DB_NAME
    with app.app_context():
        user_id = make_user().id  # committed, as every process of this tier commits
        assert db.session.scalar(select(User.id).where(User.id == user_id)) == user_id
        db.session.remove()
    server = services.postgres_server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(server, autocommit=True) as conn:
        made = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (TEST_DB_NAME,))
        db_tier_exists = made.fetchone() is not None
    if db_tier_exists:  # the db tier ran before this test, or runs beside it
        db_tier = services.database_url(TEST_DB_NAME).replace("postgresql+psycopg", "postgresql")
        with psycopg.connect(db_tier) as conn:
            seen = conn.execute("SELECT 1 FROM users WHERE id = %s", (user_id,)).fetchone()
        assert seen is None
