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
"""

from __future__ import annotations

import os
import time
from contextlib import ExitStack
from datetime import UTC, datetime

import psutil
from sqlalchemy import func, select

from app.billing.core.models import Transaction
from app.extensions import db
from benchmarks import seed, servers, settle_bench, worker_log
from benchmarks.report import say
from benchmarks.stack import Stack
from tests.support.processes import wait_until


def _settle(stack: Stack, owners: list[str], count: int, workers: int) -> tuple[float, float]:
    """tx/s by the last settled_at, and the machine's CPU use (%) meanwhile."""
    batch = settle_bench.prepare_paid(stack, [owners[n % len(owners)] for n in range(count)])
    name = f"bench-cluster-{workers}"
    log = worker_log.log_path(f"{name}-0")
    offset = worker_log.size_of(log)
    with ExitStack() as procs:
        for n in range(workers):
            servers.start_worker(procs, stack.env, f"{name}-{n}")
        servers.start_beat(procs, stack.env, stack.workdir)
        wait_until(
            lambda: settle_bench._sweep_succeeded(log, offset),
            timeout=60,
            interval=0.2,
            message="workers and beat to run a sweep",
        )
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


def run(stack: Stack, owners: list[str], count: int) -> dict:
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
    }
