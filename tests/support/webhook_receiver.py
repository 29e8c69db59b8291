"""A real HTTP webhook receiver for the integration tier, as a platform would run one.

Every request is verified with the reference library (``standardwebhooks``'
``Webhook(secret).verify(body, headers)``) and logged, failed ones included, so a
test can see each attempt: its ``webhook-id``, type, ordering key, sequence, when
it arrived and what it was answered.

    receiver = WebhookReceiver().start()
    receiver.secret = "whsec_..."       # once the endpoint is registered
    receiver.refuse()                   # stop listening: connections are refused
    receiver.answer(500)                # listen again, answer 500 to everything
    receiver.answer(503, retry_after=1) # 503 with Retry-After
    receiver.hang(20)                   # hold each request up to 20 s, then 200
    receiver.answer(200)                # back to normal (and releases hung requests)
    receiver.stop()

The port stays the same across ``refuse()`` and listening again, so the endpoint's
URL never changes.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError

from tests.support.processes import free_port, wait_until


@dataclass
class Received:
    """One request as the receiver saw it."""

    webhook_id: str | None
    type: str | None
    ordering_key: str | None
    sequence: int | None
    arrived_at: float  # time.time()
    verified: bool
    body: bytes
    headers: dict[str, str]
    hung: bool = False
    # What was answered (None: not answered yet, or the sender went away first).
    status: int | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def delivered(self) -> bool:
        """Answered 2xx at once. A held request's answer may have gone to a sender that
        was gone by then (killed mid-POST): it is not counted."""
        return self.status is not None and 200 <= self.status < 300 and not self.hung


class WebhookReceiver:
    def __init__(self, path: str = "/hooks") -> None:
        self.port = free_port()
        self.path = path
        self.secret: str | None = None
        self._lock = threading.Lock()
        self._log: list[Received] = []
        self._status = 200
        self._retry_after: str | None = None
        self._hang_s = 0.0
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    # -- listening ---------------------------------------------------------------------

    def start(self) -> WebhookReceiver:
        if self._server is not None:
            return self
        server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler_class())
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def refuse(self) -> None:
        """Stop listening: new connections are refused until the next mode change."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def stop(self) -> None:
        self._release.set()
        self.refuse()

    # -- modes -------------------------------------------------------------------------

    def answer(self, status: int, *, retry_after: float | None = None) -> None:
        """Listen (again) and answer every request with ``status``; hung requests go."""
        with self._lock:
            self._status = status
            self._retry_after = None if retry_after is None else str(retry_after)
            self._hang_s = 0.0
        self._release.set()
        self.start()

    def hang(self, seconds: float, then: int = 200) -> None:
        """Hold each request up to ``seconds`` (or until the mode changes), then answer."""
        with self._lock:
            self._status = then
            self._retry_after = None
            self._hang_s = seconds
            self._release = threading.Event()
        self.start()

    # -- what arrived ------------------------------------------------------------------

    def received(self) -> list[Received]:
        with self._lock:
            return list(self._log)

    def delivered(self) -> list[Received]:
        """Verified requests answered 2xx, in arrival order."""
        return [r for r in self.received() if r.delivered and r.verified]

    def delivered_ids(self) -> set[str]:
        return {r.webhook_id for r in self.delivered() if r.webhook_id}

    def wait_for_delivered(self, ids: set[str], timeout: float = 30.0) -> list[Received]:
        """Poll until every id in ``ids`` was delivered; answers the deliveries."""
        wait_until(
            lambda: ids <= self.delivered_ids(),
            timeout=timeout,
            interval=0.05,
            message=f"webhooks {sorted(ids - self.delivered_ids())} to be delivered",
        )
        return self.delivered()

    def wait_for_count(self, predicate: Any, count: int, timeout: float = 30.0) -> list[Received]:
        """Poll until ``count`` logged requests satisfy ``predicate``."""

        def enough() -> list[Received] | None:
            matching = [r for r in self.received() if predicate(r)]
            return matching if len(matching) >= count else None

        result = wait_until(
            enough, timeout=timeout, interval=0.05, message=f"{count} matching requests"
        )
        assert isinstance(result, list)
        return result

    # -- the server side ---------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.0: one request per connection, so a receiver that stops listening
            # refuses the very next attempt (no kept-alive connection sneaks through).
            protocol_version = "HTTP/1.0"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                record = receiver._record(body, headers)
                status, retry_after, hang_s, release = receiver._mode()
                if not record.verified:
                    status, retry_after, hang_s = 401, None, 0.0
                if hang_s:
                    record.hung = True
                    release.wait(hang_s)
                try:
                    self.send_response(status)
                    if retry_after is not None:
                        self.send_header("Retry-After", retry_after)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    self.wfile.flush()
                except OSError:
                    return  # the sender went away: nothing was answered
                with receiver._lock:
                    record.status = status

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the log is ``receiver.received()``

        return Handler

    def _mode(self) -> tuple[int, str | None, float, threading.Event]:
        with self._lock:
            return self._status, self._retry_after, self._hang_s, self._release

    def _record(self, body: bytes, headers: dict[str, str]) -> Received:
        verified = False
        document: dict[str, Any] = {}
        if self.secret is not None:
            try:
                document = Webhook(self.secret).verify(body, headers)
                verified = True
            except WebhookVerificationError:
                verified = False
        if not verified:
            try:
                document = json.loads(body)
            except ValueError:
                document = {}
        data = document.get("data") or {}
        record = Received(
            webhook_id=headers.get("webhook-id"),
            type=document.get("type"),
            ordering_key=data.get("ordering_key"),
            sequence=data.get("sequence"),
            arrived_at=time.time(),
            verified=verified,
            body=body,
            headers=headers,
            data=data,
        )
        with self._lock:
            self._log.append(record)
        return record
