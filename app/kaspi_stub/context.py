"""Per-request glue: each thread keeps one SQLite connection per database file.

Opening a connection (and reading the schema on its first statement) was much of
the stub's CPU per status call (docs/PERFORMANCE.md, "Figures behind the code's
design choices"); a kept connection costs nothing. The
connection is in autocommit mode, so every statement sees what other threads
and gunicorn workers committed; the store's write transactions roll back on
any error, so a kept connection never carries one into the next request.
"""

from __future__ import annotations

import os
import sqlite3
import threading

from flask import current_app

from app.kaspi_stub.store import Store, connect

_local = threading.local()


def get_store() -> Store:
    path = current_app.config["KASPI_STUB_DB"]
    # Keyed by process too: a forked gunicorn worker must not share its parent's.
    key = (os.getpid(), path)
    connections: dict[tuple[int, str], sqlite3.Connection] = _local.__dict__.setdefault(
        "connections", {}
    )
    conn = connections.get(key)
    if conn is None:
        conn = connections[key] = connect(path)
    return Store(conn)
