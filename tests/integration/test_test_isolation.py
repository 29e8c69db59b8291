"""The test command's own data: a Redis database it claimed empty, a database of its own."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import redis

from scripts.embedded import EmbeddedRedis, free_port, start_for_this_process
from tests.support import owned

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
    first, second = owned.unique_database_name(), owned.unique_database_name()
    assert first != second and first.startswith(f"billing_test_{os.getpid()}_")
    monkeypatch.setenv("TEST_DATABASE_NAME", "billing_test_mine")
    assert owned.unique_database_name() == "billing_test_mine"
