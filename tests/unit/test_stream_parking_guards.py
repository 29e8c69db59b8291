"""Where the stream process may park a stream, and what its master does for a worker
that dies outright."""

from __future__ import annotations

import runpy
import socket
import ssl
from pathlib import Path

from app.billing.stream.stream import _parkable

ROOT = Path(__file__).resolve().parents[2]


def test_only_a_plain_tcp_socket_is_parked():
    plain = socket.socket()
    tls = ssl.create_default_context().wrap_socket(
        socket.socket(), server_hostname="billing.example", do_handshake_on_connect=False
    )
    try:
        assert _parkable(plain) is True
        # A parked stream writes on the descriptor: under TLS that would be plaintext.
        assert _parkable(tls) is False
        assert _parkable(None) is False
    finally:
        plain.close()
        tls.close()


def test_the_stream_process_drops_a_killed_workers_gauges():
    settings = runpy.run_path(str(ROOT / "app/billing/stream/gunicorn_stream.py"))
    hook = settings.get("child_exit")
    assert hook is not None, "a SIGKILLed worker's open and parked streams stay in the gauges"
    # The shared hook (gunicorn.conf.py), which marks the worker's metrics files dead.
    assert (hook.__name__, hook.__code__.co_filename) == (
        "child_exit",
        str(ROOT / "gunicorn.conf.py"),
    )
