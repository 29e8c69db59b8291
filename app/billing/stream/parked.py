"""Streams that wait without a greenlet each: the stream process's parked streams.

Once a stream has sent its first event it only waits: for a notice about its
transaction, for its next heartbeat, for its maximum duration. Left in the
connection's greenlet, a waiting stream cost about 39 KB (the greenlet's saved C and
frame stacks, gunicorn's request objects, Flask's request context:
docs/PERFORMANCE.md, "The stream process's capacity"). Parked, it is a socket
descriptor and one small record:

- the connection is taken over from gunicorn after the headers and the first event
  (app/billing/stream/handover.py), and gunicorn's greenlet ends;
- the streams of one transaction form a group, subscribed to the hub once: a notice
  re-reads the transaction once for all of them, in a greenlet of its own, and each
  stream whose client has not seen that state yet is sent it;
- one ticker writes the heartbeats, ends streams at their maximum duration and,
  while Redis is away, re-reads each group at its poll interval.

Writes never block the ticker or a group's re-read: a socket whose buffer is full
gets the rest from a greenlet of its own, and a client that takes nothing for
``WRITE_TIMEOUT_S`` is dropped. As before, a client that went away is noticed when a
write to it fails (at the latest on the next heartbeat).

Only a gevent-patched process parks streams (``gevent`` is imported here, and this
module is imported only there).
"""

from __future__ import annotations

import contextlib
import os
import random
import resource
import threading
import time
import uuid
from typing import Literal

import gevent
from flask import Flask
from gevent.lock import BoundedSemaphore
from gevent.socket import wait_write

from app.billing.stream import lines, snapshot
from app.billing.stream.hub import Hub
from app.billing.stream.wire import format_event, frame
from app.db import step
from app.observability import context, metrics

log = lines.log

WRITE_TIMEOUT_S = 30.0
# Descriptors kept for everything but parked streams: the listening socket, the pool's
# and Redis's connections, the connections being served (opens, HEAD, /metrics), logs.
FD_RESERVE = 1024
READ_ATTEMPTS = 3
# Re-reads at once: a Redis reconnect wakes every group together, and 10,000 re-reads
# racing for the pool (5 + 10 connections, 1 s wait) would mostly time out and end
# their streams; queued here they go through the pool in turn, leaving it room for opens.
READ_CONCURRENCY = 8
READ_RETRY_S = 1.0
CHUNK_END = b"0\r\n\r\n"


class ParkedStream:
    """One waiting client: its socket and what it has been sent. Slots: 10,000 of these."""

    __slots__ = (
        "chunked",
        "deadline",
        "fd",
        "group",
        "log_fields",
        "next_heartbeat",
        "pending",
        "reason",
        "seen",
        "sent",
        "started",
    )

    def __init__(
        self,
        fd: int,
        group: _Group,
        seen: snapshot.Snapshot,
        chunked: bool,
        started: float,
        deadline: float,
        next_heartbeat: float,
        log_fields: dict[str, str],
    ) -> None:
        self.fd = fd
        self.group = group
        self.seen = seen  # the last state this client was sent
        self.chunked = chunked
        self.started = started
        self.deadline = deadline
        self.next_heartbeat = next_heartbeat
        self.log_fields = log_fields  # the request's log context, for the closing line
        self.sent = 1  # the first event, sent before parking
        self.pending: bytes | None = None  # what a full socket buffer did not take yet
        self.reason: str | None = None  # set once the stream ends


class _Group:
    """The parked streams of one transaction (and its owner): one subscription, one re-read."""

    __slots__ = (
        "again",
        "key",
        "next_fallback_read",
        "parking",
        "poll_interval_s",
        "reading",
        "streams",
        "transaction_id",
        "user_id",
    )

    def __init__(self, parking: Parking, transaction_id: uuid.UUID, user_id: str) -> None:
        self.parking = parking
        self.transaction_id = transaction_id
        self.user_id = user_id
        self.key = str(transaction_id)
        self.streams: set[ParkedStream] = set()
        self.reading = False
        self.again = False
        self.poll_interval_s = 1
        self.next_fallback_read = 0.0

    def wake(self) -> None:
        """Called by the hub (its listener greenlet) on a notice for this transaction."""
        self.parking.reread_soon(self)


class Parking:
    """Every parked stream of this process; one per app (``get_parking``)."""

    def __init__(
        self, app: Flask, hub: Hub, heartbeat_s: float, max_s: float, retry_ms: int
    ) -> None:
        self.app = app
        self.hub = hub
        self.heartbeat_s = heartbeat_s
        self.max_s = max_s
        self.retry_ms = retry_ms
        # Heartbeats and deadlines are kept to within a quarter of the heartbeat.
        self.tick_s = max(0.05, min(1.0, heartbeat_s / 4))
        # A parked stream holds one descriptor: past this many, opens are refused (503)
        # rather than left to fail on a descriptor the process no longer has.
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        self.capacity = 1 << 30 if soft == resource.RLIM_INFINITY else max(0, soft - FD_RESERVE)
        self._groups: dict[tuple[str, str], _Group] = {}
        self._streams: set[ParkedStream] = set()
        self._reads = BoundedSemaphore(READ_CONCURRENCY)
        self._ticker = gevent.spawn(self._tick_forever)

    @property
    def parked(self) -> int:
        return len(self._streams)

    @property
    def full(self) -> bool:
        return len(self._streams) >= self.capacity

    def park(
        self,
        fd: int,
        first: snapshot.Snapshot,
        user_id: str,
        transaction_id: uuid.UUID,
        chunked: bool,
        started: float,
        woken_meanwhile: bool,
    ) -> None:
        """Hold the client on ``fd`` (non-blocking, headers and ``first`` sent already).

        The caller's own subscription, taken before the first read, is released only
        after this one exists; ``woken_meanwhile`` says it saw a notice since that
        read, and the group re-reads so that the change reaches this client.
        """
        key = (str(transaction_id), user_id)
        group = self._groups.get(key)
        if group is None:
            group = _Group(self, transaction_id, user_id)
            group.poll_interval_s = first.poll_interval_s
            group.next_fallback_read = started + first.poll_interval_s
            self._groups[key] = group
            self.hub.subscribe(group.key, group)
        stream = ParkedStream(
            fd,
            group,
            first,
            chunked,
            started,
            started + self.max_s,
            started + self.heartbeat_s,
            context.snapshot(),
        )
        group.streams.add(stream)
        self._streams.add(stream)
        metrics.PUSH_STREAMS_PARKED.inc()
        # Without Redis the ticker re-reads at the poll interval, counted from ``started``.
        if woken_meanwhile:
            self.reread_soon(group)

    def end_all(self, reason: str) -> int:
        """End every parked stream with a retry hint (the process is stopping)."""
        streams = list(self._streams)
        for stream in streams:
            self.end(stream, reason, f"retry: {self.retry_ms}\n: reconnect with Last-Event-ID\n\n")
        return len(streams)

    # --- re-reading a transaction for its group ------------------------------------

    def reread_soon(self, group: _Group) -> None:
        if group.reading:
            group.again = True  # a notice during the read: read once more after it
            return
        group.reading = True
        gevent.spawn(self._reread, group)

    def _reread(self, group: _Group) -> None:
        try:
            while True:
                group.again = False
                latest = self._read(group)
                if latest is False:
                    # The clients reconnect and read it afresh (as a broken stream did).
                    for stream in list(group.streams):
                        self.end(stream, "error", f"retry: {self.retry_ms}\n\n")
                    return
                group.next_fallback_read = time.monotonic() + group.poll_interval_s
                if latest is None:
                    for stream in list(group.streams):
                        self.end(stream, "gone")
                    return
                group.poll_interval_s = latest.poll_interval_s
                for stream in list(group.streams):
                    if stream.reason is None and latest.newer_than(stream.seen):
                        stream.seen = latest
                        stream.sent += 1
                        if latest.final:
                            self.end(stream, "final", format_event(latest))
                        else:
                            self._send(stream, format_event(latest))
                if not group.again:
                    return
        finally:
            group.reading = False

    def _read(self, group: _Group) -> snapshot.Snapshot | Literal[False] | None:
        """The group's transaction now (None: gone); False when it could not be read.

        A failed read (a pool that stayed taken through a burst of opens, a database
        restart) is tried again before the streams give up: the notice that asked
        for it is not repeated.
        """
        for attempt in range(1, READ_ATTEMPTS + 1):
            try:
                with self._reads, self.app.app_context(), step():
                    return snapshot.read(group.user_id, group.transaction_id)
            except Exception:
                if attempt == READ_ATTEMPTS:
                    log.exception("re-reading a watched transaction failed")
                    return False
                log.warning(
                    "re-reading a watched transaction failed; again in %.0f s", READ_RETRY_S
                )
                gevent.sleep(READ_RETRY_S)
        return False

    # --- heartbeats, deadlines, the fallback without Redis ------------------------------

    def _tick_forever(self) -> None:
        while True:
            gevent.sleep(self.tick_s)
            try:
                self.tick(time.monotonic())
            except Exception:
                log.exception("parked streams' tick failed")

    def tick(self, now: float) -> None:
        for stream in list(self._streams):
            if now >= stream.deadline:
                self.end(
                    stream,
                    "max_duration",
                    f"retry: {self.retry_ms}\n: reconnect with Last-Event-ID\n\n",
                )
            elif now >= stream.next_heartbeat:
                stream.next_heartbeat = now + self.heartbeat_s
                self._send(stream, ": keep-alive\n\n")
        if not self.hub.connected:
            for group in list(self._groups.values()):
                if now >= group.next_fallback_read:
                    # Spread: groups woken together (a Redis loss) do not stay in step.
                    spread = random.uniform(0.8, 1.2)  # noqa: S311 (jitter, not a secret)
                    group.next_fallback_read = now + group.poll_interval_s * spread
                    self.reread_soon(group)

    # --- writing and ending ---------------------------------------------------------

    def _send(self, stream: ParkedStream, text: str) -> None:
        self._write(stream, frame(text, stream.chunked))

    def _write(self, stream: ParkedStream, data: bytes) -> None:
        if stream.pending is not None:
            stream.pending += data  # the draining greenlet sends it in order
            return
        try:
            written = os.write(stream.fd, data)
        except BlockingIOError:
            written = 0
        except OSError:
            self.end(stream, "client_closed")
            return
        if written < len(data):
            stream.pending = data[written:]
            gevent.spawn(self._drain, stream)

    def _drain(self, stream: ParkedStream) -> None:
        """Send what a full socket buffer did not take; drop a client that takes nothing."""
        while stream.pending:
            try:
                wait_write(stream.fd, timeout=WRITE_TIMEOUT_S)
                written = os.write(stream.fd, stream.pending)
            except BlockingIOError:
                continue
            except OSError:  # a timeout (socket.timeout is an OSError) or a dead peer
                stream.pending = None
                self.end(stream, "client_closed")
                break
            stream.pending = stream.pending[written:]
        stream.pending = None
        if stream.reason is not None:
            self._close(stream)

    def end(self, stream: ParkedStream, reason: str, last: str | None = None) -> None:
        """The stream's last words (``last``, then the end of the body), its closing line."""
        if stream.reason is not None:
            if reason == "client_closed":
                stream.reason = reason  # its last words found no one: close now
                stream.pending = None
                self._close(stream)
            return
        self._forget(stream)
        if reason != "client_closed":
            tail = (frame(last, stream.chunked) if last else b"") + (
                CHUNK_END if stream.chunked else b""
            )
            if tail:
                self._write(stream, tail)
            if _over(stream):  # the write found the client gone: it ended there
                return
        stream.reason = reason
        tokens = context.bind(**stream.log_fields)
        try:
            lines.closed(stream.group.transaction_id, reason, stream.sent, stream.started)
        finally:
            context.reset(tokens)
        if stream.pending is None:
            self._close(stream)

    def _forget(self, stream: ParkedStream) -> None:
        if stream in self._streams:
            self._streams.discard(stream)
            metrics.PUSH_STREAMS_PARKED.dec()
        group = stream.group
        group.streams.discard(stream)
        if not group.streams:
            self.hub.unsubscribe(group.key, group)
            self._groups.pop((group.key, group.user_id), None)

    @staticmethod
    def _close(stream: ParkedStream) -> None:
        if stream.fd >= 0:
            fd, stream.fd = stream.fd, -1
            with contextlib.suppress(OSError):
                os.close(fd)


def end_parked_streams(app: Flask) -> int:
    """On the worker's way out: its parked streams are told to reconnect, at once.

    Without this they would only see their connection drop when the process exits;
    gunicorn's graceful stop waits for greenlets, and parked streams have none.
    """
    parking = app.extensions.get("push_parking")
    return 0 if parking is None else int(parking.end_all("shutdown"))


def _over(stream: ParkedStream) -> bool:
    return stream.reason is not None


def get_parking(app: Flask, hub: Hub) -> Parking:
    parking = app.extensions.get("push_parking")
    if parking is None:
        with _CREATE_LOCK:
            parking = app.extensions.get("push_parking")
            if parking is None:
                cfg = app.config
                parking = Parking(
                    app,
                    hub,
                    float(cfg["PUSH_HEARTBEAT_S"]),
                    float(cfg["PUSH_MAX_STREAM_S"]),
                    int(cfg["PUSH_RETRY_MS"]),
                )
                app.extensions["push_parking"] = parking
    return parking


_CREATE_LOCK = threading.Lock()
