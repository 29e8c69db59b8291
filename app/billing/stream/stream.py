"""``GET /api/billing/transactions/<id>/events``: the transaction's status as Server-Sent Events.

The first event is the state now, read from PostgreSQL; each notice from the hub
(or, with Redis away, each poll interval) re-reads the row and sends a ``status``
event when its event id moved. A final status is sent and the stream ends. A
comment every ``PUSH_HEARTBEAT_S`` keeps proxies from closing an idle stream;
after ``PUSH_MAX_STREAM_S`` the stream ends with a ``retry:`` hint and the client
reconnects (``Last-Event-ID`` is accepted, and the state is re-read anyway, so a
reconnect can never miss a change).

The stream subscribes *before* its first read: a change committed after that
read wakes it, so none falls between the read and the subscription.

Every database read is a short step of its own: an open stream holds no
connection and no transaction while it waits. While it is open, its transaction
is checked with Kaspi at Kaspi's interval: the process's hurrier brings it forward
within ``PUSH_HURRY_EVERY_S`` of the subscription (app/billing/stream/hurry.py).
"""

from __future__ import annotations

import json
import logging
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, cast

from flask import Response, current_app, request, stream_with_context
from sqlalchemy import exc as sa_exc

from app.billing.core.queries import transaction_not_found
from app.billing.stream import snapshot
from app.billing.stream.hub import Hub, Watch, get_hub
from app.db import step
from app.errors import ApiError
from app.observability import metrics
from app.request_locals import current_request

log = logging.getLogger(__name__)

STREAM_HEADERS = {
    "Cache-Control": "no-cache, no-store",
    # nginx and similar proxies must pass events through as they are written.
    "X-Accel-Buffering": "no",
}


@dataclass(frozen=True)
class _Settings:
    heartbeat_s: float
    max_s: float  # 0: the state now and a retry hint (a server that cannot hold streams)
    retry_ms: int


def format_event(snap: snapshot.Snapshot) -> str:
    return f"id: {snap.event_id}\nevent: status\ndata: {snap.body}\n\n"


def serves_many_streams() -> bool:
    """True in a gevent-patched server, where an open stream is a greenlet."""
    # Only a server that patched already imported gevent's monkey module.
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and bool(monkey.is_module_patched("socket"))


def open_stream(user_id: str, transaction_id: uuid.UUID) -> Response:
    """Called inside the request's edge: a missing or foreign id raises before any byte."""
    cfg = current_app.config
    if request.method == "HEAD":
        return _headers_only(user_id, transaction_id)
    held = ExitStack()
    hub: Hub | None = None
    watch: Watch | None = None
    if serves_many_streams():
        hub = get_hub(cast("Any", current_app)._get_current_object())
        watch = held.enter_context(hub.watch(transaction_id))
    try:
        first = _first_snapshot(user_id, transaction_id)
        if first is None:
            raise transaction_not_found()
    except BaseException:
        held.close()
        raise
    if hub is None:
        # A sync worker holding a stream is a worker lost to every other request:
        # here the stream is the state now and a hint to come back in one poll
        # interval. The stream process (gevent) serves real streams.
        settings = _Settings(0.0, 0.0, first.poll_interval_s * 1000)
    else:
        settings = _Settings(
            float(cfg["PUSH_HEARTBEAT_S"]), float(cfg["PUSH_MAX_STREAM_S"]), cfg["PUSH_RETRY_MS"]
        )
    last_seen = request.headers.get("Last-Event-ID", "")
    body = _events(user_id, transaction_id, first, settings, hub, watch, last_seen)
    response = Response(
        stream_with_context(body), status=200, mimetype="text/event-stream", headers=STREAM_HEADERS
    )
    # Unsubscribes also when the client leaves before the first byte was sent.
    response.call_on_close(held.close)
    return response


# Seconds a refused client waits before it tries again (the page falls back to polling).
POOL_FULL_RETRY_AFTER_S = 2


def _first_snapshot(user_id: str, transaction_id: uuid.UUID) -> snapshot.Snapshot | None:
    """The stream's first read, or 503 with ``Retry-After`` when no pooled connection
    came free within the pool's wait.

    The stream process waits ``DATABASE_POOL_TIMEOUT_S`` = 1 s by default
    (gunicorn_stream.py), not the API's 30 s: a burst of opens queues a few
    milliseconds for the pool and is served, while a pool that stays taken answers
    at once instead of leaving the client on a stream that shows nothing.
    """
    try:
        return snapshot.read(user_id, transaction_id)
    except sa_exc.TimeoutError:
        metrics.PUSH_STREAMS_REFUSED.labels("pool_full").inc()
        log.warning("stream refused: no database connection of the pool came free in time")
        raise ApiError(
            503,
            "SERVICE_UNAVAILABLE",
            "The status stream is briefly unavailable; retry shortly or poll the status",
            headers={"Retry-After": str(POOL_FULL_RETRY_AFTER_S)},
        ) from None


def _headers_only(user_id: str, transaction_id: uuid.UUID) -> Response:
    """HEAD: what GET would answer (200 or 404), with no body and no stream held.

    gunicorn sends no body for HEAD but would still run the body's generator to its
    end, holding a greenlet and a subscription for up to ``PUSH_MAX_STREAM_S``.
    """
    if snapshot.read(user_id, transaction_id) is None:
        raise transaction_not_found()
    return Response(status=200, mimetype="text/event-stream", headers=STREAM_HEADERS)


def _reread(user_id: str, transaction_id: uuid.UUID) -> snapshot.Snapshot | None:
    with step():
        return snapshot.read(user_id, transaction_id)


@dataclass
class _Tally:
    """What a stream did, for its closing log line and metrics."""

    sent: int = 1
    reason: str = "final"


def _events(
    user_id: str,
    transaction_id: uuid.UUID,
    first: snapshot.Snapshot,
    settings: _Settings,
    hub: Hub | None,
    watch: Watch | None,
    last_seen: str,
) -> Iterator[str]:
    started = time.monotonic()
    tally = _Tally()
    log.info(
        "stream opened transaction=%s user=%s status=%s last_event_id=%s",
        transaction_id,
        user_id,
        first.status,
        json.dumps(last_seen[:40]),
    )
    metrics.PUSH_STREAMS_OPEN.inc()
    try:
        # The state now, always: whatever the client saw before (Last-Event-ID),
        # this is at least as new, so nothing between its two connections is lost.
        yield format_event(first)
        if first.final:
            return
        if hub is None or watch is None or settings.max_s <= 0:
            tally.reason = "short_stream"
            yield f"retry: {settings.retry_ms}\n\n"
            return
        watched = _Watched(user_id, transaction_id, hub, watch)
        yield from _follow(watched, first, settings, started, tally)
    except GeneratorExit:
        tally.reason = "client_closed"
        raise
    finally:
        metrics.PUSH_STREAMS_OPEN.dec()
        metrics.PUSH_STREAMS_ENDED.labels(tally.reason).inc()
        metrics.PUSH_EVENTS_SENT.inc(tally.sent)
        log.info(
            "stream closed transaction=%s reason=%s events=%d duration_s=%.1f",
            transaction_id,
            tally.reason,
            tally.sent,
            time.monotonic() - started,
        )


@dataclass(frozen=True)
class _Watched:
    user_id: str
    transaction_id: uuid.UUID
    hub: Hub
    watch: Watch


def _follow(
    watched: _Watched,
    current: snapshot.Snapshot,
    settings: _Settings,
    started: float,
    tally: _Tally,
) -> Iterator[str]:
    """Each change after the first event, keep-alives between, until the status is
    final, the row is gone or the stream's time is up."""
    deadline = started + settings.max_s
    next_heartbeat = started + settings.heartbeat_s
    next_fallback_read = started + current.poll_interval_s
    while True:
        now = time.monotonic()
        if now >= deadline:
            tally.reason = "max_duration"
            yield f"retry: {settings.retry_ms}\n: reconnect with Last-Event-ID\n\n"
            return
        wake_at = min(deadline, next_heartbeat)
        if not watched.hub.connected:
            wake_at = min(wake_at, next_fallback_read)
        woken = watched.watch.wait(wake_at - now)
        now = time.monotonic()
        if woken or (not watched.hub.connected and now >= next_fallback_read):
            next_fallback_read = now + current.poll_interval_s
            latest = _reread(watched.user_id, watched.transaction_id)
            if latest is None:
                tally.reason = "gone"
                return
            if latest.changed_from(current):
                current = latest
                tally.sent += 1
                yield format_event(current)
                if current.final:
                    return
        if now >= next_heartbeat:
            next_heartbeat = now + settings.heartbeat_s
            yield ": keep-alive\n\n"


def allow_stream_origin(response: Response) -> Response:
    """CORS for the stream route only, for origins listed in ``PUSH_ALLOWED_ORIGINS``.

    The stream process may listen on another port than the page's API (``make
    run``); the page then opens streams cross-origin with a Bearer header, which
    needs a preflight. Behind a proxy that serves both on one origin nothing is set.
    """
    # Runs after every billing request: the request is resolved once (app.request_locals).
    req = current_request()
    if req.endpoint != "billing.transaction_events":
        return response
    origin = req.headers.get("Origin")
    allowed = {
        o.strip().rstrip("/")
        for o in str(current_app.config["PUSH_ALLOWED_ORIGINS"]).split(",")
        if o.strip()
    }
    if origin and origin.rstrip("/") in allowed:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Last-Event-ID"
        response.headers["Access-Control-Allow-Methods"] = "GET"
        response.headers["Access-Control-Max-Age"] = "600"
        response.vary.add("Origin")
    return response
