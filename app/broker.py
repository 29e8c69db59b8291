"""Broker connection settings that make workers survive losing their broker.

Two brokers are supported: RabbitMQ (production) and Redis (the default, and
what development needs). Each gets the transport options that matter to it:

Redis (kombu's Redis transport):
- ``visibility_timeout``: a message taken but not acknowledged (``acks_late``)
  comes back to the queue after this long. It must exceed the longest a worker
  holds a message: task run time plus any retry countdown (our longest
  backoff is 30 s). Too short means duplicate runs (harmless: every task is
  idempotent); too long means a crashed worker's messages wait longer — the
  poll sweep re-sends checks for due transactions anyway.
- ``socket_keepalive``, ``socket_timeout``, ``socket_connect_timeout``,
  ``health_check_interval``, ``retry_on_timeout``: a dead Redis is noticed in
  seconds instead of hanging on a half-open TCP connection.

RabbitMQ (py-amqp):
- ``confirm_publish``: a publish returns only once the broker has the message,
  so a task sent just before the broker dies is not silently lost.
- AMQP heartbeats (``broker_heartbeat`` in celeryconfig) detect a dead peer.
- Unacknowledged messages return to the queue as soon as the consumer's
  connection closes: no visibility timeout. RabbitMQ's ``consumer_timeout``
  (30 min by default) must exceed the longest run + countdown, like above.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from celery.worker.consumer import Consumer as _CeleryConsumer
from kombu.connection import Connection

log = logging.getLogger(__name__)

REDIS_VISIBILITY_TIMEOUT_S = 60

REDIS_TRANSPORT_OPTIONS: dict[str, object] = {
    "visibility_timeout": REDIS_VISIBILITY_TIMEOUT_S,
    "socket_keepalive": True,
    "socket_timeout": 10,
    "socket_connect_timeout": 5,
    "health_check_interval": 10,
    "retry_on_timeout": True,
}

AMQP_TRANSPORT_OPTIONS: dict[str, object] = {
    "confirm_publish": True,
}


def kind(url: str) -> str:
    scheme = urlsplit(url).scheme
    if scheme in ("redis", "rediss", "redis+socket"):
        return "redis"
    if scheme in ("amqp", "amqps", "pyamqp"):
        return "amqp"
    return scheme


def transport_options(url: str) -> dict[str, object]:
    by_kind = {"redis": REDIS_TRANSPORT_OPTIONS, "amqp": AMQP_TRANSPORT_OPTIONS}
    return dict(by_kind.get(kind(url), {}))


# Reconnect attempts after losing the broker: kombu's defaults wait 2, 4, 6 ... up
# to 30 s between attempts, so a broker back after 20 s is noticed up to 8 s late
# and after a few minutes up to 30 s late. Retrying at most every 2 s costs one TCP
# connect per attempt.
RECONNECT_INTERVAL_START_S = 0.5
RECONNECT_INTERVAL_STEP_S = 0.5
RECONNECT_INTERVAL_MAX_S = 2.0


def close_quietly(close: Callable[[], object]) -> None:
    """A broker connection's ``close()`` that survives kombu's Redis transport losing its broker.

    After a lost connection Celery first ``collect()``s the connection; when closing
    its channel is cut short there (a socket timeout), the transport is detached but
    the channel is left open. The ``close()`` that follows closes that channel, which
    tries to give the unacknowledged messages back and needs the detached transport:
    ``AttributeError: 'NoneType' object has no attribute 'hostname'``. Celery only
    ignores connection errors there, so the worker died with "Unrecoverable error"
    (issue 11). Nothing is lost by ignoring it: the broker is gone anyway, the
    messages come back after ``visibility_timeout``, and the poll sweep re-sends
    checks for due transactions regardless.
    """
    try:
        close()
    except AttributeError as exc:
        log.warning("closing the lost broker connection failed (%r); carrying on", exc)


# Type-check exemption: celery is untyped, so the base class is Any.
class Consumer(_CeleryConsumer):  # type: ignore[misc]
    """Celery's consumer, reconnecting to a lost broker at short, bounded intervals,
    and not dying of kombu's teardown bug (``worker_consumer`` in celeryconfig)."""

    def on_connection_error_after_connected(self, exc: BaseException) -> None:
        connection: Connection | None = self.connection
        if connection is not None:
            close = connection.close
            # Celery calls ``connection.close`` next (ignoring only connection errors).
            # Type-check exemption: the method is replaced on this one object on purpose.
            connection.close = lambda: close_quietly(close)  # type: ignore[method-assign]
        super().on_connection_error_after_connected(exc)

    def ensure_connected(self, conn: Connection) -> Connection:
        ensure = conn.ensure_connection

        def quick_ensure(*args: Any, **kwargs: Any) -> Connection:
            kwargs.setdefault("interval_start", RECONNECT_INTERVAL_START_S)
            kwargs.setdefault("interval_step", RECONNECT_INTERVAL_STEP_S)
            kwargs.setdefault("interval_max", RECONNECT_INTERVAL_MAX_S)
            # Type-check exemption: kombu's ensure_connection carries no annotations.
            connected: Connection = ensure(*args, **kwargs)  # type: ignore[no-untyped-call]
            return connected

        # Type-check exemption: the method is replaced on this one object on purpose.
        conn.ensure_connection = quick_ensure  # type: ignore[method-assign]
        connected: Connection = super().ensure_connected(conn)
        return connected
