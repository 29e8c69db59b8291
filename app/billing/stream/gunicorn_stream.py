"""gunicorn settings of the stream process (Procfile `stream`):
``gunicorn -c python:app.billing.stream.gunicorn_stream wsgi:app``.

One gevent worker: a Server-Sent Events stream is opened in a greenlet, then waits
parked, a socket and a small record (app/billing/stream/parked.py), so a waiting buyer
costs about 4 KB (benchmarks/push_bench.py; docs/PERFORMANCE.md, "The stream
process's capacity") and never takes a worker from the API, which stays a separate
sync gunicorn. psycopg 3 (3.1.14 on) waits cooperatively under gevent's
monkey-patching, so a query blocks only its own greenlet.

From the environment, with `make run`'s defaults:
- ``STREAM_BIND`` (``127.0.0.1:$STREAM_PORT``; ``STREAM_PORT`` defaults to API_PORT + 1);
- ``STREAM_WORKER_CONNECTIONS`` (4000): connections the worker serves at once (streams
  being opened, HEAD, /metrics); parked streams are not counted, descriptors limit them;
- ``PUSH_ALLOWED_ORIGINS`` (the page's API origin, ``http://127.0.0.1:$API_PORT``).
Options given on the command line win over these.
"""

from __future__ import annotations

import contextlib
import os
import resource
import runpy
from pathlib import Path
from typing import Any

# The settings every server of the project shares (request limits, JSON refusals).
_SHARED = runpy.run_path(str(Path(__file__).resolve().parents[3] / "gunicorn.conf.py"))
limit_request_line = _SHARED["limit_request_line"]
limit_request_field_size = _SHARED["limit_request_field_size"]
limit_request_fields = _SHARED["limit_request_fields"]
# A worker killed outright (timeout, out of memory) runs no worker_exit: the master's
# hook drops its share of the live gauges (open and parked streams) all the same.
child_exit = _SHARED["child_exit"]

_api_port = int(os.environ.get("API_PORT") or 8000)
_stream_port = int(os.environ.get("STREAM_PORT") or _api_port + 1)

bind = [os.environ.get("STREAM_BIND") or f"127.0.0.1:{_stream_port}"]
worker_class = "gevent"
workers = 1
worker_connections = int(os.environ.get("STREAM_WORKER_CONNECTIONS") or 4000)
# Open streams end (clients reconnect) rather than hold a restart for long.
graceful_timeout = 10
# One socket per stream: a soft limit of 1024 descriptors (a common default) would
# refuse streams long before memory or CPU runs out. Workers inherit the raised one.
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
_want = 65536 if _hard == resource.RLIM_INFINITY else _hard
if _soft != resource.RLIM_INFINITY and _soft < _want:
    # Not raised (a container's own cap): the stream process runs with what it has.
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (_want, _hard))
# Workers are forked from this process and inherit its environment. A stream's first
# read waits at most a second for a pooled connection, then answers 503 with
# Retry-After (app/billing/stream/stream.py): a burst of opens is served, a pool that
# stays taken is not waited on for the API's 30 s.
os.environ.setdefault("DATABASE_POOL_TIMEOUT_S", "1")
os.environ.setdefault(
    "PUSH_ALLOWED_ORIGINS", f"http://127.0.0.1:{_api_port},http://localhost:{_api_port}"
)


def worker_exit(server: Any, worker: Any) -> None:
    """gunicorn's hook, in the worker after its graceful stop: parked streams end with a
    retry hint, so their clients reconnect at once (to the next process) instead of
    noticing a dropped connection."""
    from app.billing.stream.parked import end_parked_streams

    app = getattr(worker, "wsgi", None)
    if app is not None and hasattr(app, "extensions"):
        end_parked_streams(app)
