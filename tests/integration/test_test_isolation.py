"""The test command's own data: a Redis database it claimed empty, databases of its own,
and tiers that pass in any order in one session."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import psycopg
import pytest
import redis
from sqlalchemy import select

from app.auth.models import User
from app.extensions import db
from scripts.embedded import EmbeddedRedis, free_port, start_for_this_process
from scripts.localservices import Services, database_name
from tests.conftest import TEST_DB_NAME
from tests.support import owned
from tests.support.factories import make_transaction, make_user
from tests.support.processes import ROOT

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
    with app.app_context():
        # Committed, as every process of this tier commits, and left behind.
        user = make_user()
        make_transaction(user)
        user_id = user.id
        assert db.session.scalar(select(User.id).where(User.id == user_id)) == user_id
        db.session.remove()
    assert database_name(database_url) != TEST_DB_NAME
    server = services.postgres_server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(server, autocommit=True) as conn:
        made = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (TEST_DB_NAME,))
        db_tier_exists = made.fetchone() is not None
    if db_tier_exists:  # the db tier ran before this test, or runs beside it
        db_tier = services.database_url(TEST_DB_NAME).replace("postgresql+psycopg", "postgresql")
        with psycopg.connect(db_tier) as conn:
            seen = conn.execute("SELECT 1 FROM users WHERE id = %s", (user_id,)).fetchone()
        assert seen is None


def test_the_redis_database_a_run_takes_is_flushed_only_if_it_claimed_it(own_redis):
    """owned.redis_database, which the tests and the benchmarks both take theirs from."""
    foreign_url = own_redis.replace("/0", "/5")
    foreign = redis.Redis.from_url(foreign_url)
    foreign.set("their:key", "keep me")
    services = Services("postgresql://127.0.0.1:1/unused", foreign_url)

    with ExitStack() as run:
        with pytest.warns(UserWarning, match="did not create"):
            url = run.enter_context(owned.redis_database(services, explicit=True))
        assert url == foreign_url
        redis.Redis.from_url(url).set("bench:queue", "ours")
    assert foreign.get("their:key") == b"keep me"

    with owned.redis_database(services, explicit=False) as url:
        assert url != foreign_url
        mine = redis.Redis.from_url(url)
        mine.set("bench:queue", "ours")
    assert mine.dbsize() == 0
    assert foreign.get("their:key") == b"keep me"


def test_the_db_tier_passes_after_the_integration_tier_in_one_session():
    """The order that used to fail: an integration test leaves a committed transaction,
    then the db tier's "refused and created nothing" checks run in the same session."""
    env = {
        key: value
        for key, value in os.environ.items()
        # A session of its own: its own database names and Redis claim, one process.
        if not key.startswith(("PYTEST_", "TEST_DATABASE_NAME", "TEST_REDIS_URL"))
    }
    result = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--no-cov", "-q",
            f"{__file__}::test_rows_the_integration_tier_commits_never_reach_the_db_tier",
            str(ROOT / "tests" / "db" / "test_purchase_intents.py"),
        ],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout
