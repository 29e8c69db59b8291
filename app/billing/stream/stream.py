"""``GET /api/billing/transactions/<id>/events``: the transaction's status as Server-Sent Events.

The first event is the state now, read from PostgreSQL; each notice from the hub
(or, with Redis away, each poll interval) re-reads the row and sends a ``status``
event when its event id moved. A final status is sent and the stream ends. A
comment every ``PUSH_HEARTBEAT_S`` keeps proxies from closing an idle stream;
after ``PUSH_MAX_STREAM_S`` the stream ends with a ``retry:`` hint and the client
reconnects (``Last-Event-ID`` is accepted, and the state is re-read anyway, so a
reconnect can never miss a change).

The stream subscribes *before* its first read: a change committed after that
read wakes it, so none falls between the read and the subscription. In the stream
process the stream then waits parked (handover.py, parked.py): the parking's own
subscription for the transaction is taken before this one is released, and a notice
seen in between makes it re-read.

Every database read is a short step of its own: an open stream holds no
connection and no transaction while it waits. While it is open, its transaction
is checked with Kaspi at Kaspi's interval: the process's hurrier brings it forward
within ``PUSH_HURRY_EVERY_S`` of the subscription (app/billing/stream/hurry.py).
"""

from __future__ import annotations

import logging
import ssl
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any, cast

from flask import Response, current_app, request, stream_with_context
from sqlalchemy import exc as sa_exc

from app.billing.core.queries import transaction_not_found
from app.billing.stream import lines, snapshot
from app.billing.stream.handover import HandoverResponse
from app.billing.stream.hub import Hub, Watch, get_hub
from app.billing.stream.wire import format_event
from app.errors import ApiError
from app.observability import metrics
from app.request_locals import current_request

log = logging.getLogger(__name__)

STREAM_HEADERS = {
    "Cache-Control": "no-cache, no-store",
    # nginx and similar proxies must pass events through as they are written.
    "X-Accel-Buffering": "no",
}


def serves_many_streams() -> bool:
    """True in a gevent-patched server, which holds many streams (parked.py)."""
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
        _refuse_when_full(hub)
        watch = held.enter_context(hub.watch(transaction_id))
    try:
        first = _first_snapshot(user_id, transaction_id)
        if first is None:
            raise transaction_not_found()
    except BaseException:
        held.close()
        raise
    last_seen = request.headers.get("Last-Event-ID", "")
    if (
        hub is not None
        and watch is not None
        and not first.final
        and float(cfg["PUSH_MAX_STREAM_S"]) > 0
        and _parkable(request.environ.get("gunicorn.socket"))
    ):
        opening = _Opening(user_id, transaction_id, first, hub, watch, held, last_seen)
        return HandoverResponse(
            opening, status=200, mimetype="text/event-stream", headers=STREAM_HEADERS
        )
    # Nothing waits below: the state now (and, unless final, a hint to come back).
    held.close()
    # A sync worker holding a stream is a worker lost to every other request: there
    # the stream is the state now and a hint to come back in one poll interval. The
    # stream process (gevent) serves real streams.
    retry_ms = first.poll_interval_s * 1000 if hub is None else int(cfg["PUSH_RETRY_MS"])
    body = _events(transaction_id, user_id, first, retry_ms, last_seen)
    return Response(
        stream_with_context(body), status=200, mimetype="text/event-stream", headers=STREAM_HEADERS
    )


def _parkable(sock: object) -> bool:
    """A plain TCP socket from gunicorn: a parked stream writes on its descriptor, which
    under TLS would bypass the encryption (such a server gets the short stream)."""
    return sock is not None and not isinstance(sock, ssl.SSLSocket)


# Seconds a refused client waits before it tries again (the page falls back to polling).
POOL_FULL_RETRY_AFTER_S = 2


def _refuse_when_full(hub: Hub) -> None:
    """503 with ``Retry-After`` once the process holds as many streams as its descriptors
    allow (parked.py, ``FD_RESERVE``): another stream process, or polling, serves it."""
    # Imported here: only the gevent stream process parks (parked.py uses gevent).
    from app.billing.stream.parked import get_parking

    parking = get_parking(cast("Any", current_app)._get_current_object(), hub)
    if not parking.full:
        return
    metrics.PUSH_STREAMS_REFUSED.labels("full").inc()
    log.warning("stream refused: the process holds %d streams, its most", parking.parked)
    raise ApiError(
        503,
        "SERVICE_UNAVAILABLE",
        "The status stream is briefly unavailable; retry shortly or poll the status",
        headers={"Retry-After": str(POOL_FULL_RETRY_AFTER_S)},
    )


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


def _events(
    transaction_id: uuid.UUID,
    user_id: str,
    first: snapshot.Snapshot,
    retry_ms: int,
    last_seen: str,
) -> Iterator[str]:
    """A stream that does not wait: the state now, and a retry hint unless it is final."""
    started = time.monotonic()
    reason = "final"
    lines.opened(transaction_id, user_id, first.status, last_seen)
    try:
        # The state now, always: whatever the client saw before (Last-Event-ID),
        # this is at least as new, so nothing between its two connections is lost.
        yield format_event(first)
        if not first.final:
            reason = "short_stream"
            yield f"retry: {retry_ms}\n\n"
    except GeneratorExit:
        reason = "client_closed"
        raise
    finally:
        lines.closed(transaction_id, reason, 1, started)


class _Opening:
    """A stream the stream process parks once its first event is out (handover.py)."""

    def __init__(
        self,
        user_id: str,
        transaction_id: uuid.UUID,
        first: snapshot.Snapshot,
        hub: Hub,
        watch: Watch,
        held: ExitStack,
        last_seen: str,
    ) -> None:
        self.user_id = user_id
        self.transaction_id = transaction_id
        self.snapshot = first
        self.first = format_event(first)
        self.hub = hub
        self.watch = watch
        self.held = held
        self.last_seen = last_seen
        self.started = time.monotonic()

    def opened(self) -> None:
        lines.opened(self.transaction_id, self.user_id, self.snapshot.status, self.last_seen)

    def park(self, fd: int, chunked: bool) -> None:
        # Imported here: only the gevent stream process parks (parked.py uses gevent).
        from app.billing.stream.parked import get_parking

        app = cast("Any", current_app)._get_current_object()
        get_parking(app, self.hub).park(
            fd,
            self.snapshot,
            self.user_id,
            self.transaction_id,
            chunked,
            self.started,
            # Subscribed before the first read: a notice since then is re-read.
            woken_meanwhile=self.watch.woken,
        )

    def ended(self, reason: str) -> None:
        """It ended before it was parked (the client left during the first write)."""
        lines.closed(self.transaction_id, reason, 0, self.started)

    def release(self) -> None:
        self.held.close()


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
