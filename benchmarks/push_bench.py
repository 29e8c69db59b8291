"""Push status benchmark: open streams held at once, notice latency, requests per purchase.

``run(world)`` answers a dict of the keys in ``var/bench/latest.json``:

- ``push_open_streams``: streams held open at once by one gevent stream process
  (each got its first event and stayed open), while the sync API keeps answering
  status polls and purchases (their latencies are reported beside);
- ``push_stream_rss_mb`` (master + gevent worker), ``push_stream_worker_rss_mb``,
  ``push_stream_kb_per_stream``, ``push_stream_cpu_pct_*``: the stream process's
  memory and CPU (% of one core) while opening, holding idle, and notifying;
- ``push_notify_p50_ms`` / ``push_notify_p99_ms``: COMMIT of a status change (a
  settlement committed here) → the ``status`` event read by the client;
- ``requests_per_purchase_poll`` / ``requests_per_purchase_push``: a purchase the
  buyer pays after 30 s, watched by 3-s polling or by one stream (counted, with
  reconnects); both run against a worker and beat with the production backoff.

Standalone: ``python -m benchmarks.push_bench [--streams N]`` (like ``make bench``:
a database of its own, and a Redis database it claimed empty).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from flask import Flask

from app.auth.tokens import issue_token
from benchmarks import servers
from tests.support import stream_server
from tests.support.processes import Process, wait_until
from tests.support.sse import SseClient
from tests.support.stub_server import confirm_payment

if TYPE_CHECKING:
    from benchmarks.stack import Stack

OPEN_CONCURRENCY = 100  # streams being opened at once
PAY_AFTER_S = 30.0
POLL_EVERY_S = 3.0
# The production schedule (app/config.py) for the requests-per-purchase scenario.
PRODUCTION_POLLING = {
    "POLL_INITIAL_DELAY_S": "2",
    "POLL_MAX_DELAY_S": "15",
    "SWEEP_INTERVAL_S": "2",
}


def _raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(part) for part in text.split()]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cpu_s(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def start_stream_server(cleanup: ExitStack, env: dict[str, str]) -> tuple[Process, str]:
    """The Procfile's stream process (app/billing/stream/gunicorn_stream.py): one gevent worker."""
    return stream_server.start_stream_server(
        "bench-stream", env, started=lambda proc: cleanup.callback(proc.stop)
    )


def start_api(cleanup: ExitStack, env: dict[str, str]) -> str:
    base, _pid = servers.start_gunicorn(cleanup, "bench-push-api", "wsgi:app", env, 2, graceful_s=2)
    return base


# --- many streams from one asyncio client ------------------------------------------


class StreamFleet:
    """N streams read by one asyncio loop in a thread; records each status event's time."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.first: dict[str, float] = {}
        self.statuses: dict[str, list[tuple[str, float]]] = {}
        self.open = 0
        self.failed: list[str] = []
        self._writers: list[asyncio.StreamWriter] = []
        self._closed = False

    def open_all(self, items: list[tuple[str, str]]) -> float:
        """A stream per (transaction id, token); answers seconds until each had its first event."""
        started = time.monotonic()
        future = asyncio.run_coroutine_threadsafe(self._open_all(items), self.loop)
        future.result(timeout=300)
        return time.monotonic() - started

    async def _open_all(self, items: list[tuple[str, str]]) -> None:
        gate = asyncio.Semaphore(OPEN_CONCURRENCY)
        ready = [asyncio.Event() for _ in items]

        async def one(n: int, tx_id: str, token: str) -> None:
            async with gate:
                self.loop.create_task(self._stream(tx_id, token, ready[n]))
                await asyncio.wait_for(ready[n].wait(), 120)

        await asyncio.gather(*(one(n, tx, tok) for n, (tx, tok) in enumerate(items)))

    async def _stream(self, tx_id: str, token: str, ready: asyncio.Event) -> None:
        counted = False
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port, limit=2**20)
            self._writers.append(writer)
            writer.write(
                (
                    f"GET /api/billing/transactions/{tx_id}/events HTTP/1.1\r\n"
                    f"Host: {self.host}:{self.port}\r\nAuthorization: Bearer {token}\r\n"
                    "Accept: text/event-stream\r\n\r\n"
                ).encode()
            )
            await writer.drain()
            status_line = await reader.readline()
            if b" 200 " not in status_line:
                raise RuntimeError(status_line.decode(errors="replace").strip())
            chunked = False
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"transfer-encoding:") and b"chunked" in line.lower():
                    chunked = True
            self.open += 1
            counted = True
            buffer = ""
            async for piece in self._body(reader, chunked):
                buffer += piece
                while "\n\n" in buffer:
                    block, buffer = buffer.split("\n\n", 1)
                    self._event(tx_id, block, ready)
        except Exception as exc:  # counted and reported, never hidden
            self.failed.append(f"{tx_id}: {exc!r}")
            ready.set()
        finally:
            if counted:
                self.open -= 1

    @staticmethod
    async def _body(reader: asyncio.StreamReader, chunked: bool) -> AsyncIterator[str]:
        while True:
            if not chunked:
                data = await reader.read(65536)
                if not data:
                    return
                yield data.decode()
                continue
            size_line = await reader.readline()
            if not size_line:
                return
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                return
            data = await reader.readexactly(size + 2)
            yield data[:-2].decode()

    def _event(self, tx_id: str, block: str, ready: asyncio.Event) -> None:
        fields = {
            line.partition(":")[0]: line.partition(":")[2].strip()
            for line in block.splitlines()
            if line and not line.startswith(":")
        }
        if fields.get("event") != "status":
            return
        now = time.monotonic()
        status = json.loads(fields["data"])["status"]
        self.statuses.setdefault(tx_id, []).append((status, now))
        if tx_id not in self.first:
            self.first[tx_id] = now
            ready.set()

    def saw(self, tx_id: str, status: str) -> bool:
        return any(seen == status for seen, _ in self.statuses.get(tx_id, []))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True

        async def shut() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for writer in self._writers:
                writer.close()

        asyncio.run_coroutine_threadsafe(shut(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)


# --- the phases ----------------------------------------------------------------------


def _seed_pending(app: Flask, count: int) -> tuple[list[str], list[str]]:
    """``count`` pending transactions, each of its own user; answers (ids, owners).

    Their Kaspi interval is an hour: the streams still hurry them every second (the
    cost measured here), but no worker of this run or an earlier section's is made
    to check thousands of payment-less rows.
    """
    from sqlalchemy import update

    from app.billing.core.models import Transaction
    from app.extensions import db
    from benchmarks import seed

    owners = [f"push-user-{n:04d}" for n in range(count)]
    seed.insert_users(app, owners)
    ids = seed.insert_pending(app, owners)
    with app.app_context():
        db.session.execute(
            update(Transaction).where(Transaction.id.in_(ids)).values(poll_interval_s=3600)
        )
        db.session.commit()
    return [str(tx_id) for tx_id in ids], owners


def _settle_and_time(app: Flask, tx_ids: list[str], spacing_s: float) -> dict[str, float]:
    """Settle each transaction in a step of its own; answers tx id -> time just before COMMIT."""
    from app.billing.settle import manual
    from app.db import step

    committed: dict[str, float] = {}
    with app.app_context():
        for tx_id in tx_ids:
            with step():
                manual.settle_now(uuid.UUID(tx_id), "paid", source="cli")
                committed[tx_id] = time.monotonic()
            time.sleep(spacing_s)
    return committed


def _api_while_streaming(api: str, token: str, polls: int, purchases: int) -> dict[str, Any]:
    """Status polls and purchase intents against the API while the streams are open."""
    headers = {"Authorization": f"Bearer {token}"}
    created = []
    purchase_ms, purchase_codes = [], []
    for _ in range(purchases):
        started = time.perf_counter()
        response = requests.post(
            f"{api}/api/billing/purchase-intent",
            json={"product_code": "EVENT_UPGRADE_500"},
            headers=headers,
            timeout=30,
        )
        purchase_ms.append((time.perf_counter() - started) * 1000)
        purchase_codes.append(response.status_code)
        if response.status_code == 201:
            created.append(response.json()["transaction_id"])

    def poll(n: int) -> tuple[float, int]:
        started = time.perf_counter()
        response = requests.get(
            f"{api}/api/billing/transactions/status",
            params={"transaction_id": created[n % len(created)]},
            headers=headers,
            timeout=30,
        )
        return (time.perf_counter() - started) * 1000, response.status_code

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(poll, range(polls))) if created else []
    poll_ms = [ms for ms, _ in results]
    return {
        "purchases_ok": sum(code == 201 for code in purchase_codes),
        "purchases": purchases,
        "purchase_p50_ms": round(statistics.median(purchase_ms), 1),
        "purchase_max_ms": round(max(purchase_ms), 1),
        "polls_ok": sum(code == 200 for _, code in results),
        "polls": polls,
        "poll_p50_ms": round(_percentile(poll_ms, 0.5), 1) if poll_ms else None,
        "poll_p99_ms": round(_percentile(poll_ms, 0.99), 1) if poll_ms else None,
    }


def _purchase(api: str, token: str) -> tuple[str, str]:
    response = requests.post(
        f"{api}/api/billing/purchase-intent",
        json={"product_code": "EVENT_UPGRADE_500"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    response.raise_for_status()
    body = response.json()
    return body["transaction_id"], body["payment"]["payment_id"]


def _pay_later(kaspi_url: str, payment_id: str, delay_s: float, paid: dict) -> threading.Timer:
    def pay() -> None:
        confirm_payment(kaspi_url, payment_id)
        paid["at"] = time.monotonic()

    timer = threading.Timer(delay_s, pay)
    timer.start()
    return timer


def poll_buyer(api: str, kaspi_url: str, token: str) -> dict[str, Any]:
    """A buyer polling every 3 s; counts status requests until it sees completed."""
    tx_id, payment_id = _purchase(api, token)
    paid: dict = {}
    _pay_later(kaspi_url, payment_id, PAY_AFTER_S, paid)
    requests_made = 0
    while True:
        requests_made += 1
        body = requests.get(
            f"{api}/api/billing/transactions/{tx_id}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ).json()
        if body["status"] == "completed":
            return {"requests": requests_made, "seen_after_pay_s": time.monotonic() - paid["at"]}
        time.sleep(POLL_EVERY_S)


def push_buyer(api: str, stream: str, kaspi_url: str, token: str) -> dict[str, Any]:
    """A buyer on the stream; counts connections (reconnects included) until completed."""
    tx_id, payment_id = _purchase(api, token)
    paid: dict = {}
    _pay_later(kaspi_url, payment_id, PAY_AFTER_S, paid)
    connections = 0
    last_id = None
    while True:
        connections += 1
        client = SseClient(
            f"{stream}/api/billing/transactions/{tx_id}/events", token, last_event_id=last_id
        )
        try:
            while (event := client.next_status(timeout=PAY_AFTER_S * 4)) is not None:
                last_id = event.id
                if event.json()["status"] == "completed":
                    return {
                        "requests": connections,
                        "seen_after_pay_s": event.received_at - paid["at"],
                    }
        finally:
            client.close()


def _park(app: Flask, tx_ids: list[str]) -> None:
    """Close the seeded rows (benchmark data, no audit needed): nothing checks or hurries them.

    Streams a client dropped stay registered until their next heartbeat write
    fails, and their hurry would make these payment-less rows due meanwhile.
    """
    from sqlalchemy import update

    from app.billing.core.models import Transaction
    from app.extensions import db

    with app.app_context():
        db.session.execute(
            update(Transaction)
            .where(
                Transaction.id.in_([uuid.UUID(tx) for tx in tx_ids]),
                Transaction.status == "pending",
            )
            .values(status="expired", next_poll_at=None)
        )
        db.session.commit()


def run(
    world: Stack,
    streams: int = 10_000,
    notify_samples: int = 200,
    scenario: bool = True,
    hold_s: float = 20.0,
) -> dict[str, Any]:
    """The push benchmark against ``world`` (benchmarks.stack.Stack); answers its keys."""
    fd_limit = _raise_fd_limit()
    secret = world.env["AUTH_JWT_SECRET"]
    results: dict[str, Any] = {}
    with ExitStack() as cleanup:
        # Parked streams take no place in the stream process's pool of connections being
        # served (gunicorn_stream.py); a design that kept a greenlet per stream needed
        # the pool to hold them all, so a run of one still measures it.
        stream_env = {**world.env, "STREAM_WORKER_CONNECTIONS": str(max(4000, streams + 100))}
        stream_proc, stream_url = start_stream_server(cleanup, stream_env)
        api = start_api(cleanup, world.env)
        tx_ids, owners = _seed_pending(world.app, streams)
        tokens = [issue_token(secret, owner, 3600) for owner in owners]
        stream_pids = [stream_proc.pid, *_children(stream_proc.pid)]
        rss_before = sum(_rss_mb(pid) for pid in stream_pids)
        worker_rss_before = sum(_rss_mb(pid) for pid in stream_pids[1:])

        fleet = StreamFleet(stream_url)
        cleanup.callback(fleet.close)
        cpu_start = _cpu_s(stream_pids)
        open_s = fleet.open_all(list(zip(tx_ids, tokens, strict=True)))
        cpu_opened = _cpu_s(stream_pids)
        held = sum(1 for tx in tx_ids if tx in fleet.first)
        if fleet.failed:
            print(f"  {len(fleet.failed)} streams failed, e.g. {fleet.failed[:3]}", flush=True)

        # Hold them idle a while: what do the waiting buyers cost?
        time.sleep(hold_s)
        cpu_held = _cpu_s(stream_pids)
        rss_held = sum(_rss_mb(pid) for pid in stream_pids)
        worker_rss_held = sum(_rss_mb(pid) for pid in stream_pids[1:])
        still_open = fleet.open

        api_check = _api_while_streaming(api, tokens[0], polls=400, purchases=20)

        samples = [tx for tx in tx_ids if tx in fleet.first][:notify_samples]
        cpu_before_notify = _cpu_s(stream_pids)
        notify_started = time.monotonic()
        committed = _settle_and_time(world.app, samples, spacing_s=0.02)
        wait_until(
            lambda: all(
                any(s == "completed" for s, _ in fleet.statuses.get(tx, [])) for tx in samples
            ),
            timeout=30,
            message="every settled stream to see completed",
        )
        notify_wall = time.monotonic() - notify_started
        cpu_notify = _cpu_s(stream_pids) - cpu_before_notify
        latencies = [
            (next(t for s, t in fleet.statuses[tx] if s == "completed") - committed[tx]) * 1000
            for tx in samples
        ]
        fleet.close()
        slowest = sorted(range(len(latencies)), key=latencies.__getitem__)[-5:]
        print("  slowest notices (sample #, ms):", [(n, round(latencies[n])) for n in slowest])

        results.update(
            {
                # Open at the end of the hold, each after its first event.
                "push_open_streams": min(held, still_open),
                "push_stream_rss_mb": round(rss_held, 1),
                "push_stream_rss_idle_mb": round(rss_before, 1),
                "push_stream_worker_rss_mb": round(worker_rss_held, 1),
                "push_stream_kb_per_stream": round(
                    1024 * (worker_rss_held - worker_rss_before) / max(1, held), 1
                ),
                "push_load_average": " ".join(f"{v:.1f}" for v in os.getloadavg()),
                "push_stream_cpu_pct_opening": round(100 * (cpu_opened - cpu_start) / open_s, 1),
                "push_stream_cpu_pct_holding": round(100 * (cpu_held - cpu_opened) / hold_s, 1),
                "push_stream_cpu_pct_notifying": round(100 * cpu_notify / notify_wall, 1),
                "push_streams_opened_in_s": round(open_s, 2),
                "push_streams_failed": len(fleet.failed),
                "push_notify_p50_ms": round(_percentile(latencies, 0.5), 1),
                "push_notify_p99_ms": round(_percentile(latencies, 0.99), 1),
                "push_notify_max_ms": round(max(latencies), 1),
                "push_notify_samples": len(latencies),
                "push_fd_limit": fd_limit,
                **{f"push_api_{key}": value for key, value in api_check.items()},
            }
        )

        if not scenario:
            return results
        # The seeded rows have no payment and were hurried while watched: close them,
        # or the worker would spend the scenario recovering their payments.
        _park(world.app, tx_ids)
        # Requests per purchase: a worker and beat with the production backoff.
        scenario_env = {**world.env, **PRODUCTION_POLLING}
        servers.start_worker_and_beat(cleanup, scenario_env, world.workdir, "bench-push-worker")
        buyer = [issue_token(secret, f"push-buyer-{n}", 3600) for n in range(2)]
        with ThreadPoolExecutor(2) as pool:
            polled = pool.submit(poll_buyer, api, world.kaspi_url, buyer[0])
            pushed = pool.submit(push_buyer, api, stream_url, world.kaspi_url, buyer[1])
            polled_r, pushed_r = polled.result(timeout=180), pushed.result(timeout=180)
        results.update(
            {
                "requests_per_purchase_poll": polled_r["requests"],
                "requests_per_purchase_push": pushed_r["requests"],
                "requests_per_purchase_ratio": round(
                    polled_r["requests"] / max(1, pushed_r["requests"]), 1
                ),
                "paid_seen_after_s_poll": round(polled_r["seen_after_pay_s"], 2),
                "paid_seen_after_s_push": round(pushed_r["seen_after_pay_s"], 2),
            }
        )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.push_bench", description=__doc__)
    parser.add_argument("--streams", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=200, help="settlements timed")
    parser.add_argument("--out", default="var/bench/push.json")
    parser.add_argument("--skip-scenario", action="store_true", help="no requests-per-purchase")
    parser.add_argument("--hold-s", type=float, default=20.0, help="seconds the streams idle")
    parser.add_argument("--latest", default=str(LATEST), help="the JSON whose keys it updates")
    args = parser.parse_args(argv)

    from benchmarks import stack

    with ExitStack() as cleanup:
        world = stack.open_stack(cleanup)
        results = run(
            world,
            streams=args.streams,
            notify_samples=args.samples,
            scenario=not args.skip_scenario,
            hold_s=args.hold_s,
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    merge_into_latest(results, Path(args.latest))
    print(json.dumps(results, indent=2))
    return 0


LATEST = Path(__file__).resolve().parents[1] / "var" / "bench" / "latest.json"


def merge_into_latest(results: dict[str, Any], path: Path = LATEST) -> None:
    """A standalone run updates its own keys in var/bench/latest.json, keeping the others."""
    try:
        current = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        current = {}
    if not isinstance(current, dict):
        current = {}
    current.update(results)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(current, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
