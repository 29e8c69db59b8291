"""Settle throughput with two worker hosts against one: ``cluster_settle_tx_per_s``.

The same batch size of paid intents is settled twice, each time from the moment the
rows come due to the last ``settled_at``: once by one worker (the Procfile's
``--concurrency 2``) and beat, once by two such workers and beat (a second worker
host; on this machine a second worker process, since the hosts share the machine's
cores anyway). ``cluster_settle_scaling`` is the second over the first.

Scaling needs cores for it: each worker host brings its own in production, while here
the workers, PostgreSQL, Redis and the Kaspi stub share ``os.cpu_count()``. When the
scaling stays under 1.6, ``cluster_settle_limit`` says what was saturated (the
machine's CPU, measured over the run), which is then the limit, not the workers.

The same two runs again with Kaspi answering every call in ``KASPI_LATENCY_MS``
(``cluster_settle_kaspi_bound_*``): a real provider's round trip, not our CPU, then
bounds a worker host (``KASPI_CONCURRENCY`` calls in flight per batch task, two
tasks per host), which is where a second worker host is meant to help. A stub of its
own with enough threads serves those calls (the same payments: it shares the
stack's stub's SQLite), so the stub's threads are not the limit either.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime

import psutil
from sqlalchemy import func, select

from app.billing.core.models import Transaction
from app.extensions import db
from benchmarks import seed, servers, settle_bench, worker_log
from benchmarks.report import say
from benchmarks.stack import KASPI_KEY, Stack
from tests.support.processes import wait_until
from tests.support.stub_server import set_faults

# A provider's round trip from a Kazakhstan data centre is tens to hundreds of ms.
KASPI_LATENCY_MS = 300
# Calls the slow stub serves at once: two hosts x two tasks x KASPI_CONCURRENCY (8).
SLOW_STUB_THREADS = 32


def _settle(
    stack: Stack,
    owners: list[str],
    count: int,
    workers: int,
    env: dict[str, str] | None = None,
    slow: Callable[[], object] | None = None,
) -> tuple[float, float]:
    """tx/s by the last settled_at, and the machine's CPU use (%) meanwhile; ``slow``
    runs once the rows are paid and the workers up, just before the rows come due."""
    env = env or stack.env
    batch = settle_bench.prepare_paid(stack, [owners[n % len(owners)] for n in range(count)])
    name = f"bench-cluster-{workers}"
    log = worker_log.log_path(f"{name}-0")
    offset = worker_log.size_of(log)
    with ExitStack() as procs:
        for n in range(workers):
            servers.start_worker(procs, env, f"{name}-{n}")
        servers.start_beat(procs, env, stack.workdir)
        wait_until(
            lambda: settle_bench._sweep_succeeded(log, offset),
            timeout=60,
            interval=0.2,
            message="workers and beat to run a sweep",
        )
        if slow is not None:
            slow()
        psutil.cpu_percent(None)
        started_at = datetime.now(UTC)
        started = time.perf_counter()
        seed.make_due(stack.app, batch.ids)
        while settle_bench._completed(stack.database_url, batch.ids) < len(batch.ids):
            if time.perf_counter() - started > settle_bench.SETTLE_TIMEOUT_S:
                raise TimeoutError("the cluster settle batch did not finish")
            time.sleep(settle_bench.POLL_EVERY_S)
        cpu = psutil.cpu_percent(None)
    with stack.app.app_context():
        last = db.session.scalar(
            select(func.max(Transaction.settled_at)).where(Transaction.id.in_(batch.ids))
        )
        db.session.rollback()
    return len(batch.ids) / (last - started_at).total_seconds(), cpu


def _kaspi_bound(stack: Stack, owners: list[str], count: int) -> dict:
    """One worker host against two, with every Kaspi call taking KASPI_LATENCY_MS."""
    with ExitStack() as cleanup:
        slow_url = servers.start_stub(
            cleanup, stack.workdir, KASPI_KEY, workers=2, threads=SLOW_STUB_THREADS // 2
        )
        env = {**stack.env, "KASPI_BASE_URL": slow_url}
        # The faults live in the shared SQLite: the latency is set once the rows'
        # payments are made and paid (prepare_paid runs at full speed) and taken off
        # at the end, whatever happens, so no later section meets a slow stub.
        cleanup.callback(set_faults, slow_url, latency_ms=0)
        results = []
        for workers in (1, 2):
            set_faults(slow_url, latency_ms=0)
            rate, cpu = _settle(
                stack,
                owners,
                count,
                workers,
                env,
                slow=lambda: set_faults(slow_url, latency_ms=KASPI_LATENCY_MS),
            )
            results.append((rate, cpu))
    (one, cpu_one), (two, cpu_two) = results
    say(
        f"  Kaspi answering in {KASPI_LATENCY_MS} ms: one worker host {one:,.1f} tx/s "
        f"(CPU {cpu_one:.0f}%), two {two:,.1f} tx/s (CPU {cpu_two:.0f}%) -> {two / one:.2f}x"
    )
    return {
        "cluster_settle_kaspi_latency_ms": KASPI_LATENCY_MS,
        "cluster_settle_kaspi_bound_tx_per_s_one_host": round(one, 1),
        "cluster_settle_kaspi_bound_tx_per_s": round(two, 1),
        "cluster_settle_kaspi_bound_scaling": round(two / one, 2),
        "cluster_settle_kaspi_bound_cpu_pct_one_host": round(cpu_one),
        "cluster_settle_kaspi_bound_cpu_pct": round(cpu_two),
        "cluster_settle_kaspi_bound_batch": count,
    }


def run(stack: Stack, owners: list[str], count: int, kaspi_bound_count: int) -> dict:
    one, cpu_one = _settle(stack, owners, count, 1)
    say(f"  one worker host (concurrency 2) + beat: {one:,.1f} tx/s, machine CPU {cpu_one:.0f}%")
    two, cpu_two = _settle(stack, owners, count, 2)
    say(f"  two worker hosts + beat: {two:,.1f} tx/s, machine CPU {cpu_two:.0f}%")
    scaling = two / one
    cores = os.cpu_count() or 1
    limit = "workers (scales)"
    if scaling < 1.6:
        limit = (
            f"CPU: {cores} cores shared by the workers, PostgreSQL, Redis and the Kaspi stub "
            f"({cpu_one:.0f}% busy with one worker host, {cpu_two:.0f}% with two)"
            if max(cpu_one, cpu_two) >= 80
            else f"not measured: the CPU was not saturated ({cpu_one:.0f}%, {cpu_two:.0f}%);"
            " candidates are beat's sweep cadence and PostgreSQL's commits"
        )
    say(f"  -> scaling {scaling:.2f}x; limit: {limit}")
    return {
        "cluster_settle_tx_per_s_one_host": round(one, 1),
        "cluster_settle_tx_per_s": round(two, 1),
        "cluster_settle_scaling": round(scaling, 2),
        "cluster_settle_cpu_pct_one_host": round(cpu_one),
        "cluster_settle_cpu_pct": round(cpu_two),
        "cluster_settle_limit": limit,
        "cluster_settle_batch": count,
        **_kaspi_bound(stack, owners, kaspi_bound_count),
    }
