"""One Redis subscriber per process, fanning status notices out to open streams.

A thousand streams in one process share one pub/sub connection: the hub's
listener (a thread; a greenlet under gevent's monkey-patching) wakes the
streams watching the announced transaction. When Redis goes away the hub says
so (``connected`` is False), streams read PostgreSQL at their poll interval,
and the listener reconnects; on reconnecting it wakes every stream once, since
notices published while it was away are lost.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

import redis
from flask import Flask

from app.billing.stream.hurry import start_hurrier
from app.observability import metrics

log = logging.getLogger(__name__)

RECONNECT_DELAY_S = 1.0
# How long one read of the subscription blocks; also how often a silent
# connection is pinged (redis-py health checks), so a dead peer is noticed.
READ_TIMEOUT_S = 1.0
HEALTH_CHECK_S = 5


class Waker(Protocol):
    """Whatever the hub wakes for a transaction: a stream's flag, a parked group."""

    def wake(self) -> None: ...


class Watch:
    """One stream's wake-up flag."""

    def __init__(self, key: str) -> None:
        self.key = key
        self._event = threading.Event()

    def wake(self) -> None:
        self._event.set()

    @property
    def woken(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float) -> bool:
        """True if woken (then cleared), False on timeout."""
        woken = self._event.wait(max(0.0, timeout))
        if woken:
            self._event.clear()
        return woken


class Hub:
    def __init__(self, redis_url: str, channel: str) -> None:
        self.redis_url = redis_url
        self.channel = channel
        self.connected = False
        self._watches: dict[str, set[Waker]] = {}
        self._lock = threading.Lock()
        self._listener: threading.Thread | None = None
        self._client: redis.Redis | None = None

    def watched(self) -> list[str]:
        """The transaction ids some stream of this process watches."""
        with self._lock:
            return list(self._watches)

    def subscribe(self, key: str, item: Waker) -> None:
        """``item.wake()`` on each notice for ``key`` (a transaction id) from now on."""
        self._ensure_listener()
        with self._lock:
            self._watches.setdefault(key, set()).add(item)

    def unsubscribe(self, key: str, item: Waker) -> None:
        with self._lock:
            group = self._watches.get(key)
            if group is not None:
                group.discard(item)
                if not group:
                    del self._watches[key]

    @contextmanager
    def watch(self, transaction_id: object) -> Iterator[Watch]:
        item = Watch(str(transaction_id))
        self.subscribe(item.key, item)
        try:
            yield item
        finally:
            self.unsubscribe(item.key, item)

    def _ensure_listener(self) -> None:
        with self._lock:
            if self._listener is not None and self._listener.is_alive():
                return
            self._listener = threading.Thread(target=self._listen, name="push-hub", daemon=True)
            self._listener.start()

    def _wake(self, key: str | None) -> None:
        with self._lock:
            if key is None:
                targets = [w for group in self._watches.values() for w in group]
            else:
                targets = list(self._watches.get(key, ()))
        for item in targets:
            item.wake()

    def _set_connected(self, value: bool) -> None:
        if self.connected == value:
            return
        self.connected = value
        metrics.PUSH_REDIS_SUBSCRIBED.set(1 if value else 0)
        log.info("push hub %s redis", "subscribed to" if value else "lost")
        # Either way every stream re-reads: on loss to start its fallback timer,
        # on return to catch up on the notices published while we were away.
        self._wake(None)

    def _listen(self) -> None:
        while True:
            pubsub = None
            try:
                client = redis.Redis.from_url(
                    self.redis_url,
                    socket_connect_timeout=2,
                    socket_timeout=READ_TIMEOUT_S + 5,
                    health_check_interval=HEALTH_CHECK_S,
                )
                # redis-py leaves PubSub's constructor unannotated.
                pubsub = client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
                pubsub.subscribe(self.channel)
                self._set_connected(True)
                while True:
                    message = pubsub.get_message(timeout=READ_TIMEOUT_S)
                    if message is not None and message.get("type") == "message":
                        data = message["data"]
                        self._wake(data.decode() if isinstance(data, bytes) else str(data))
            except (redis.RedisError, OSError) as exc:
                if self.connected:
                    log.warning("push hub: redis subscription failed: %s", exc)
                self._set_connected(False)
            except Exception:
                log.exception("push hub listener failed")
                self._set_connected(False)
            finally:
                if pubsub is not None:
                    # Closing a connection that already died may raise; nothing to do.
                    with contextlib.suppress(Exception):
                        pubsub.close()
            time.sleep(RECONNECT_DELAY_S)


def get_hub(app: Flask) -> Hub:
    hub = app.extensions.get("push_hub")
    if hub is None:
        with _CREATE_LOCK:
            hub = app.extensions.get("push_hub")
            if hub is None:
                hub = Hub(app.config["REDIS_URL"], app.config["PUSH_CHANNEL"])
                start_hurrier(app, hub.watched, float(app.config["PUSH_HURRY_EVERY_S"]))
                app.extensions["push_hub"] = hub
    return hub


_CREATE_LOCK = threading.Lock()
