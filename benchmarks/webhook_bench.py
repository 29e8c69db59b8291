"""Webhook delivery: COMMIT → the receiver's 2xx, and events per second by one worker.

A receiver on loopback (a threaded http.server answering 204) is registered as an
endpoint; one Celery worker (--concurrency 2) and beat deliver. Latency: one
event at a time, each committed only after the previous one arrived, so the
figure is the path (wake-up, claim, POST, record), not a queue. Throughput: a
burst of events over 50 ordering keys, committed 100 to a transaction, from the
first COMMIT until the receiver holds every one.
"""

from __future__ import annotations

import statistics
import threading
import time
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from benchmarks import servers
from benchmarks.report import say
from benchmarks.stack import Stack
from tests.support.processes import wait_until

WORKER_NAME = "bench-webhooks"


class _Arrivals:
    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.lock = threading.Lock()


def _receiver(arrivals: _Arrivals) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()
            with arrivals.lock:
                arrivals.at.setdefault(self.headers["webhook-id"], time.time())

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _emit(stack: Stack, keys: list[str]) -> tuple[list[str], float]:
    """One transaction writing an event per key; answers their ids and the COMMIT's time."""
    from app.db import step
    from app.webhooks import outbox
    from app.webhooks.catalogue import EventType

    with stack.app.app_context():
        with step():
            ids = [outbox.emit(EventType.CREDIT_GRANTED, key, {"bench": True}) for key in keys]
        return ids, time.time()


def run(stack: Stack, latency_samples: int, burst: int) -> dict:
    from app.db import step
    from app.webhooks import endpoints

    arrivals = _Arrivals()
    server = _receiver(arrivals)
    try:
        with stack.app.app_context(), step():
            endpoints.add(f"http://127.0.0.1:{server.server_port}/hooks", None)
        with ExitStack() as procs:
            servers.start_worker_and_beat(procs, stack.env, stack.workdir, WORKER_NAME)
            warm, _ = _emit(stack, ["bench:warm"])
            wait_until(lambda: warm[0] in arrivals.at, timeout=60, message="the first webhook")
            latencies = []
            for n in range(latency_samples):
                [event_id], committed = _emit(stack, [f"bench:latency:{n % 10}"])
                wait_until(
                    lambda event_id=event_id: event_id in arrivals.at, timeout=30, interval=0.001
                )
                latencies.append((arrivals.at[event_id] - committed) * 1000)
            keys = [f"bench:burst:{n % 50}" for n in range(burst)]
            started = time.time()
            sent: list[str] = []
            for offset in range(0, burst, 100):
                ids, _ = _emit(stack, keys[offset : offset + 100])
                sent.extend(ids)
            wait_until(
                lambda: all(event_id in arrivals.at for event_id in sent),
                timeout=300,
                interval=0.01,
                message="the burst delivered",
            )
            burst_s = max(arrivals.at[event_id] for event_id in sent) - started
    finally:
        server.shutdown()
        server.server_close()
    cuts = statistics.quantiles(latencies, n=100)
    p50, p99 = statistics.median(latencies), cuts[98]
    per_s = burst / burst_s
    say(
        f"  COMMIT → receiver 2xx, {latency_samples} events one at a time: "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms"
    )
    say(f"  burst of {burst} events over 50 keys, one worker: {per_s:,.0f} events/s")
    return {
        "webhook_delivery_p50_ms": p50,
        "webhook_delivery_p99_ms": p99,
        "webhook_events_per_s": per_s,
        "webhook_latency_samples": latency_samples,
        "webhook_burst_events": burst,
    }
