"""Test data the test session owns: its own database name, a Redis database it claimed.

`make test` must never destroy data it did not create, even on a shared machine:
- the database gets a unique name (``billing_test_<pid>_<random>``) unless
  TEST_DATABASE_NAME names one, and only that database is dropped at the end; each
  pytest-xdist worker is a process of its own, so its own pid, and a name given in
  TEST_DATABASE_NAME gets the worker's id (``_gw0``, ``_gw1``...) appended;
- Redis: a database that was empty when the session claimed it with a marker key
  (``SET NX``); only a claimed database is flushed, at the start when a crashed
  earlier session left its marker there, and at the end.
"""

from __future__ import annotations

import os
import socket
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import redis

if TYPE_CHECKING:
    from scripts.localservices import Services

MARKER = "billing-test:owner"
CANDIDATE_DBS = range(15, 0, -1)  # db 0 is `make run`'s default; leave it alone


def xdist_worker() -> str:
    """This pytest-xdist worker's id (``gw0``, ``gw1``...), or "" outside xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER", "")


def unique_database_name() -> str:
    named = os.environ.get("TEST_DATABASE_NAME")
    if named:
        return f"{named}_{xdist_worker()}" if xdist_worker() else named
    return f"billing_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"


def _with_db(url: str, db: int) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{db}"))


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _left_by_a_test_session(client: redis.Redis) -> bool:
    """The database holds a marker of a test session on this host that is no longer alive."""
    value = client.get(MARKER)
    if value is None:
        return False
    host, _, pid = value.decode().rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class RedisClaim:
    """A Redis database this session may flush because it claimed it empty."""

    def __init__(self, url: str, claimed: bool) -> None:
        self.url = url
        self.claimed = claimed

    def release(self) -> None:
        if not self.claimed:
            return
        client = redis.Redis.from_url(self.url)
        if client.get(MARKER) == _owner().encode():
            client.flushdb()


def claim(url: str, explicit: bool) -> RedisClaim | None:
    """Claim ``url``'s database (explicit) or the first free one on its server.

    Answers None when no database could be claimed (the caller then starts its own
    Redis). An explicitly named database holding someone else's keys is used as is,
    with a warning, and never flushed.
    """
    candidates = [url] if explicit else [_with_db(url, db) for db in CANDIDATE_DBS]
    for candidate in candidates:
        client = redis.Redis.from_url(candidate)
        if _left_by_a_test_session(client):
            client.flushdb()  # a crashed earlier test session's data, under its marker
        if client.dbsize() == 0 and client.set(MARKER, _owner(), nx=True):
            if client.dbsize() == 1:
                return RedisClaim(candidate, claimed=True)
            client.delete(MARKER)  # someone wrote there at the same moment: not ours
    if explicit:
        warnings.warn(
            f"{url} holds keys this test session did not create; using it without flushing "
            "(point TEST_REDIS_URL at an empty database to have it cleaned up)",
            stacklevel=2,
        )
        return RedisClaim(url, claimed=False)
    return None


@contextmanager
def redis_database(services: Services, *, explicit: bool) -> Iterator[str]:
    """A Redis database of this process for the block's duration; only what it owns is flushed.

    An embedded server ``services`` started is all ours. Otherwise a claimed database
    (``explicit``: the one ``services.redis_url`` names), and when every database on the
    server is in use, an embedded redis-server of this process alone.
    """
    if "redis" in services.embedded:
        yield services.redis_url  # our own server: everything in it is ours
        return
    claimed = claim(services.redis_url, explicit=explicit)
    if claimed is None:
        from scripts.embedded import EmbeddedRedis, free_port, start_for_this_process
        from scripts.localservices import var_dir

        where = var_dir() / f"redis-{os.getpid()}"
        yield start_for_this_process(EmbeddedRedis(where, free_port()))
        return
    try:
        yield claimed.url
    finally:
        claimed.release()
