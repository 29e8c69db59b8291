"""gunicorn's own refusals (request line or headers too long, malformed request)
answered in the service's JSON error envelope instead of gunicorn's HTML page.

gunicorn rejects such requests before any WSGI app runs, writing the answer with
``gunicorn.util.write_error``; workers look that function up at call time, so
replacing it once in the master (``gunicorn.conf.py`` runs there, before the
workers fork) covers every worker class.
"""

from __future__ import annotations

import json
import socket

# Type-check exemption: gunicorn ships no type information.
from gunicorn import util  # type: ignore[import-untyped]

# gunicorn's statuses -> the stable machine-readable codes clients branch on.
CODES = {
    400: "BAD_REQUEST",
    403: "FORBIDDEN",
    414: "URI_TOO_LONG",
    417: "EXPECTATION_FAILED",
    431: "REQUEST_HEADER_FIELDS_TOO_LARGE",
    500: "INTERNAL_ERROR",
    501: "NOT_IMPLEMENTED",
}
MESSAGES = {
    414: "The request line is too long",
    431: "A request header is too large, or there are too many headers",
}


def envelope_bytes(status_int: int, reason: str) -> bytes:
    """A complete HTTP/1.1 response carrying ``{"error": {"code", "message"}}``.

    gunicorn's own message echoes parts of the request; it is logged by gunicorn
    and deliberately not repeated to the client.
    """
    code = CODES.get(status_int, "BAD_REQUEST" if status_int < 500 else "INTERNAL_ERROR")
    message = MESSAGES.get(status_int, reason)
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    return head.encode("latin-1") + body


def write_json_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    util.write_nonblock(sock, envelope_bytes(status_int, reason))


def install() -> None:
    util.write_error = write_json_error
