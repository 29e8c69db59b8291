"""``GET /api/billing/transactions/<id>/events``: the transaction's status as Server-Sent Events.

The first event is the state now, read from PostgreSQL; each notice from the hub
(or, with Redis away, each poll interval) re-reads the row and sends a ``status``
event when its event id moved. A final status is sent and the stream ends. A
comment every ``PUSH_HEARTBEAT_S`` keeps proxies from closing an idle stream;
after ``PUSH_MAX_STREAM_S`` the stream ends with a ``retry:`` hint and the client
reconnects (``Last-Event-ID`` is accepted, and the state is re-read anyway, so a
reconnect can never miss a change).

Every database read and the hurry are short steps of their own: an open stream
holds no connection and no transaction while it waits.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator

from flask import Response, current_app, request, stream_with_context

from app.billing.queries import transaction_not_found
from app.db import step
from app.push import snapshot
from app.push.hub import get_hub
from app.push.hurry import hurry_check

log = logging.getLogger(__name__)

STREAM_HEADERS = {
    "Cache-Control": "no-cache, no-store",
    # nginx and similar proxies must pass events through as they are written.
    "X-Accel-Buffering": "no",
}


def format_event(snap: snapshot.Snapshot) -> str:
    return f"id: {snap.event_id}\nevent: status\ndata: {snap.body}\n\n"


def open_stream(user_id: str, transaction_id: uuid.UUID) -> Response:
    """Called inside the request's edge: a missing or foreign id raises before any byte."""
    first = snapshot.read(user_id, transaction_id)
    if first is None:
        raise transaction_not_found()
    if not first.final:
        hurry_check(transaction_id)
    cfg = current_app.config
    settings = _Settings(
        heartbeat_s=float(cfg["PUSH_HEARTBEAT_S"]),
        max_s=float(cfg["PUSH_MAX_STREAM_S"]),
        retry_ms=int(cfg["PUSH_RETRY_MS"]),
    )
    if not serves_many_streams():
        # A sync worker holding a stream is a worker lost to every other request:
        # here the stream is the state now and a hint to come back in one poll
        # interval. The stream process (gevent) serves real streams.
        settings = _Settings(0.0, 0.0, first.poll_interval_s * 1000)
    last_seen = request.headers.get("Last-Event-ID", "")
    body = _events(user_id, transaction_id, first, settings, last_seen)
    return Response(
        stream_with_context(body),
        status=200,
        mimetype="text/event-stream",
        headers=STREAM_HEADERS,
    )


def serves_many_streams() -> bool:
    """True in a gevent-patched server, where an open stream is a greenlet."""
    try:
        from gevent import monkey
    except ImportError:
        return False
    return bool(monkey.is_module_patched("socket"))


class _Settings:
    def __init__(self, heartbeat_s: float, max_s: float, retry_ms: int) -> None:
        self.heartbeat_s = heartbeat_s
        self.max_s = max_s
        self.retry_ms = retry_ms


def _reread(user_id: str, transaction_id: uuid.UUID) -> snapshot.Snapshot | None:
    with step():
        return snapshot.read(user_id, transaction_id)


def _hurry(transaction_id: uuid.UUID) -> None:
    with step():
        hurry_check(transaction_id)


def _events(
    user_id: str,
    transaction_id: uuid.UUID,
    first: snapshot.Snapshot,
    settings: _Settings,
    last_seen: str,
) -> Iterator[str]:
    started = time.monotonic()
    sent = 1
    reason = "final"
    log.info(
        "stream opened transaction=%s user=%s status=%s last_event_id=%s",
        transaction_id,
        user_id,
        first.status,
        json.dumps(last_seen[:40]),
    )
    try:
        # The state now, always: whatever the client saw before (Last-Event-ID),
        # this is at least as new, so nothing between its two connections is lost.
        yield format_event(first)
        if first.final:
            return
        current = first
        hub = get_hub(current_app._get_current_object())
        deadline = started + settings.max_s
        # Half Kaspi's interval: see app/push/hurry.py for why that bounds the wait.
        hurry_every = max(1.0, current.poll_interval_s / 2)
        next_heartbeat = started + settings.heartbeat_s
        next_hurry = started + hurry_every
        next_fallback_read = started + current.poll_interval_s
        with hub.watch(transaction_id) as watch:
            # A change committed between the first read and this subscription
            # announced nobody: read once more now.
            watch.wake()
            while True:
                now = time.monotonic()
                if now >= deadline:
                    reason = "max_duration"
                    yield f"retry: {settings.retry_ms}\n: reconnect with Last-Event-ID\n\n"
                    return
                wake_at = min(deadline, next_heartbeat, next_hurry)
                if not hub.connected:
                    wake_at = min(wake_at, next_fallback_read)
                woken = watch.wait(wake_at - now)
                now = time.monotonic()
                read_now = woken or (not hub.connected and now >= next_fallback_read)
                if now >= next_hurry:
                    _hurry(transaction_id)
                    next_hurry = now + hurry_every
                if read_now:
                    next_fallback_read = now + current.poll_interval_s
                    latest = _reread(user_id, transaction_id)
                    if latest is None:
                        reason = "gone"
                        return
                    if latest.event_id != current.event_id:
                        current = latest
                        sent += 1
                        yield format_event(current)
                        if current.final:
                            return
                if now >= next_heartbeat:
                    next_heartbeat = now + settings.heartbeat_s
                    yield ": keep-alive\n\n"
    except GeneratorExit:
        reason = "client_closed"
        raise
    finally:
        log.info(
            "stream closed transaction=%s reason=%s events=%d duration_s=%.1f",
            transaction_id,
            reason,
            sent,
            time.monotonic() - started,
        )


def allow_stream_origin(response: Response) -> Response:
    """CORS for the stream route only, for origins listed in ``PUSH_ALLOWED_ORIGINS``.

    The stream process may listen on another port than the page's API (``make
    run``); the page then opens streams cross-origin with a Bearer header, which
    needs a preflight. Behind a proxy that serves both on one origin nothing is set.
    """
    if request.endpoint != "billing.transaction_events":
        return response
    origin = request.headers.get("Origin")
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
