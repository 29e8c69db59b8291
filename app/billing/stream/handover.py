"""The stream's response in the stream process: headers and first event, then parked.

gunicorn's gevent worker serves a connection in one greenlet for as long as the
response body lasts, so a Server-Sent Events stream would keep that greenlet, and the
request objects its frames hold, for minutes (about 39 KB a stream). Instead this
response writes the status line, the headers Flask made (CORS, ``X-Request-ID``,
...) and the first event on the connection itself, hands a duplicate of the socket's
descriptor to the parking (app/billing/stream/parked.py), and tells gunicorn the
connection is done: gunicorn's greenlet ends and closes its descriptor, and the
duplicate keeps the connection open.

Used only where gunicorn's socket is in the environ (app/billing/stream/stream.py).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from email.utils import formatdate
from typing import Any, Protocol

from flask import Response

from app.billing.stream.wire import frame

log = logging.getLogger("app.billing.stream.stream")


class Opening(Protocol):
    """The stream being handed over: its bookkeeping lives with the stream route."""

    first: str  # the first event's text

    def opened(self) -> None: ...

    def park(self, fd: int, chunked: bool) -> None: ...

    def ended(self, reason: str) -> None: ...

    def release(self) -> None: ...


class HandoverResponse(Response):
    # The body is written here, not by the server: it has no length.
    automatically_set_content_length = False

    def __init__(self, opening: Opening, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._opening = opening

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        opening = self._opening
        try:
            sock = environ["gunicorn.socket"]
            protocol = str(environ.get("SERVER_PROTOCOL") or "HTTP/1.0")
            chunked = protocol == "HTTP/1.1"
            _body, status, headers = self.get_wsgi_response(environ)
            lines = [f"{protocol} {status}", f"Date: {formatdate(usegmt=True)}"]
            lines += [f"{name}: {value}" for name, value in headers]
            if chunked:
                lines.append("Transfer-Encoding: chunked")
            # One stream a connection: the parking ends the body and closes it.
            lines.append("Connection: close")
            head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
            opening.opened()
            try:
                sock.sendall(head + frame(opening.first, chunked))
                fd = os.dup(sock.fileno())
            except OSError:
                opening.ended("client_closed")
                raise TAKEN_OVER from None
            try:
                os.set_blocking(fd, False)
                opening.park(fd, chunked)
            except Exception:
                # Not parked: nothing else would ever close it or count it closed. The
                # 200 and the first event are out, so gunicorn must write nothing more
                # (its 500 would follow them): the connection ends, the client reconnects.
                log.exception("a status stream could not be parked")
                os.close(fd)
                opening.ended("error")
                raise TAKEN_OVER from None
        finally:
            opening.release()
        # gunicorn's async workers end the connection's greenlet on StopIteration from
        # the application, writing nothing more: the way a WSGI application says it
        # took the connection over (websocket libraries for gunicorn do the same).
        raise TAKEN_OVER


TAKEN_OVER = StopIteration
