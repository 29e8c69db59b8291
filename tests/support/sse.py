"""A Server-Sent Events client for tests and benchmarks: a reader thread and a queue.

``requests`` streams the body; a thread splits it into events (blank-line
separated ``field: value`` lines) so a test can wait for the next one with a
timeout, and see comments (heartbeats) and ``retry:`` hints too.
"""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests


@dataclass
class SseEvent:
    event: str = "message"
    id: str | None = None
    data: str = ""
    retry: int | None = None
    comments: list[str] = field(default_factory=list)
    received_at: float = 0.0  # time.monotonic()

    def json(self) -> Any:
        return json.loads(self.data)


CLOSED = object()


class SseClient:
    def __init__(
        self,
        url: str,
        token: str,
        last_event_id: str | None = None,
        read_timeout: float = 60.0,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        self.response = requests.get(url, headers=headers, stream=True, timeout=(5, read_timeout))
        self.items: queue.Queue = queue.Queue()
        self.closed = threading.Event()
        self.error: Exception | None = None
        if self.response.status_code == 200:
            threading.Thread(target=self._read, daemon=True).start()
        else:
            self.closed.set()

    @property
    def status_code(self) -> int:
        return self.response.status_code

    def _read(self) -> None:
        current = SseEvent()
        touched = False
        try:
            for raw in self.response.iter_lines(chunk_size=1, decode_unicode=True):
                line = raw if isinstance(raw, str) else raw.decode()
                if line == "":
                    if touched:
                        current.received_at = time.monotonic()
                        self.items.put(current)
                    current, touched = SseEvent(), False
                    continue
                touched = True
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "":
                    current.comments.append(value)
                elif name == "event":
                    current.event = value
                elif name == "id":
                    current.id = value
                elif name == "data":
                    current.data = f"{current.data}\n{value}" if current.data else value
                elif name == "retry":
                    current.retry = int(value)
        except Exception as exc:  # the stream broke or was closed under the reader: it ended
            self.error = exc
        finally:
            self.closed.set()
            self.items.put(CLOSED)

    def next(self, timeout: float = 20.0) -> SseEvent | None:
        """The next event or comment block; None once the stream has closed."""
        item = self.items.get(timeout=timeout)
        return None if item is CLOSED else item

    def next_status(self, timeout: float = 20.0) -> SseEvent | None:
        """The next ``status`` event, skipping heartbeats; None once closed."""
        deadline = time.monotonic() + timeout
        while True:
            item = self.next(max(0.01, deadline - time.monotonic()))
            if item is None or (item.event == "status" and item.data):
                return item

    def close(self) -> None:
        self.response.close()


def open_raw_stream(
    base: str, tx_id: object, token: str, protocol: str = "HTTP/1.1"
) -> tuple[socket.socket, bytes]:
    """A status stream opened on a bare socket, read until its first (pending) event:
    the connection and every byte received so far (status line, headers, event)."""
    host, port = base.removeprefix("http://").split(":")
    conn = socket.create_connection((host, int(port)), timeout=10)
    conn.sendall(
        (
            f"GET /api/billing/transactions/{tx_id}/events {protocol}\r\nHost: {host}\r\n"
            f"Authorization: Bearer {token}\r\n\r\n"
        ).encode()
    )
    received = b""
    while b'"status":"pending"' not in received:
        chunk = conn.recv(65536)
        assert chunk, received
        received += chunk
    return conn, received
