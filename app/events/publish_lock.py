"""A Redis lock per credit owner around publishing: an optimisation, never the guarantee.

It serialises one user's concurrent publishes so they queue instead of racing
for the same credit rows (the loser of a race would otherwise answer 402 while
the winner's transaction is still open). Correctness lives in PostgreSQL: the
event row lock, the skip-locked credit pick, the conditional UPDATE and the
unique index on ``billing_credits.consumed_event_id``.

- ``PUBLISH_LOCK_ENABLED=0``: no lock at all.
- Redis unreachable: a warning, and the publish proceeds on the database alone;
  for a few seconds afterwards Redis is not retried, so a dead Redis costs one
  connection attempt per process, not one per request.
- Held by another publish for longer than ``PUBLISH_LOCK_WAIT_S``: 409
  ``PUBLISH_IN_PROGRESS`` with ``Retry-After``.
- The lock expires after ``PUBLISH_LOCK_TIMEOUT_S``, so a holder that died
  cannot block its owner forever.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app
from redis.exceptions import LockError, RedisError
from redis.lock import Lock

from app.domain_errors import Conflict
from app.extensions import get_redis
from app.observability import metrics

log = logging.getLogger(__name__)

KEY_PREFIX = "billing:publish-lock:"
# After a Redis failure, skip the lock for this long (per process).
REDIS_BACKOFF_S = 5.0
# How often a waiting publish retries the lock. redis-py's default (0.1 s) is longer
# than a publish holds the lock, so the lock would sit idle at every hand-over
# (docs/PERFORMANCE.md, "Figures behind the code's design choices").
RETRY_INTERVAL_S = 0.01
_STATE_KEY = "publish_lock_redis_down_until"


def lock_key(owner_id: str) -> str:
    return KEY_PREFIX + owner_id


def _redis_known_down() -> bool:
    down_until: float = current_app.extensions.get(_STATE_KEY, 0.0)
    return time.monotonic() < down_until


def _mark_redis_down() -> None:
    current_app.extensions[_STATE_KEY] = time.monotonic() + REDIS_BACKOFF_S


@contextmanager
def publish_lock(owner_id: str) -> Iterator[bool]:
    """Hold the owner's publish lock for the block; yields whether a lock is held."""
    config = current_app.config
    if not config.get("PUBLISH_LOCK_ENABLED", True) or _redis_known_down():
        yield False
        return
    lock = get_redis().lock(
        lock_key(owner_id),
        timeout=float(config["PUBLISH_LOCK_TIMEOUT_S"]),
        blocking_timeout=float(config["PUBLISH_LOCK_WAIT_S"]),
        sleep=RETRY_INTERVAL_S,
        thread_local=False,
    )
    started = time.perf_counter()
    try:
        acquired = lock.acquire()
    except RedisError as exc:
        _observe_wait(started, "unavailable")
        log.warning("publish lock unavailable (%s); relying on database locks alone", exc)
        _mark_redis_down()
        yield False
        return
    _observe_wait(started, "acquired" if acquired else "timeout")
    if not acquired:
        raise Conflict(
            "PUBLISH_IN_PROGRESS",
            "Another publish of yours is in progress; try again in a moment.",
            retry_after_s=1,
        )
    try:
        yield True
    finally:
        _release(lock, owner_id)


def _observe_wait(started: float, result: str) -> None:
    metrics.PUBLISH_LOCK_WAIT.labels(result).observe(time.perf_counter() - started)


def _release(lock: Lock, owner_id: str) -> None:
    try:
        lock.release()
    except LockError:
        # Expired while held (a slow publish): the database kept it correct anyway.
        log.warning("publish lock of %s expired before release", owner_id)
    except RedisError as exc:
        log.warning("could not release the publish lock of %s: %s", owner_id, exc)
        _mark_redis_down()
