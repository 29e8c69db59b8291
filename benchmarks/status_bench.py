"""The API against the bare stack (benchmarks/bare_app.py), side by side in one run.

- status poll: authenticated GET /api/billing/transactions/status against the bare
  app's JWT decode + one primary-key SELECT; requests/s and the server's CPU per
  request (gunicorn master and workers, user + system time);
- purchase intent: POST /api/billing/purchase-intent against the bare app's one
  INSERT + the stub's create-link.

Both servers run the same number of gunicorn workers and face the same load
generator with the same settings, taking turns in rounds (never loaded at once),
so a change in the machine's other load hits both alike.
"""

from __future__ import annotations

import json
import os
import statistics
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, replace

import requests
from sqlalchemy import select

from app.auth.tokens import issue_token
from app.billing.core.models import Transaction
from app.extensions import db
from benchmarks import seed, servers
from benchmarks.cpu import tree_cpu_s
from benchmarks.load import LoadResult, LoadSettings, run_load, warm_up
from benchmarks.report import ratio, say
from benchmarks.stack import JWT_SECRET, Stack

API_WORKERS = 4
EXTRA_PENDING = 25  # unpaid intents, so the polled mix is completed and pending rows
BARE_APP = "benchmarks.bare_app:create_app()"
INTENT_BODY = json.dumps({"product_code": "EVENT_UPGRADE_500", "quantity": 1})


@dataclass(frozen=True)
class Measured:
    load: LoadResult
    cpu_ms: float  # server CPU per request


def _owned_ids(stack: Stack, user_id: str) -> list[uuid.UUID]:
    with stack.app.app_context():
        ids = list(db.session.scalars(select(Transaction.id).where(Transaction.user_id == user_id)))
        db.session.rollback()
    return ids


def _describe(label: str, m: Measured) -> None:
    r = m.load
    say(
        f"  {label:<12} {r.generator}: {r.requests:,} requests in {r.duration_s:.1f}s = "
        f"{r.rps:,.0f} req/s  p50 {r.p50_ms:.1f} ms  p99 {r.p99_ms:.1f} ms  "
        f"cpu {m.cpu_ms:.2f} ms/req  non-2xx {r.non_2xx}  socket errors {r.socket_errors}"
    )


@dataclass(frozen=True)
class Target:
    name: str
    app_spec: str
    paths: list[str]


# The two servers take turns, so drifting machine load hits both alike; each goes
# first in half the rounds, so neither always follows the other's load (or the
# warm-up) and what it leaves behind (WAL flushes, autovacuum).
ROUNDS = 4


def _measure_pair(
    stack: Stack,
    bare: Target,
    api: Target,
    headers: dict[str, str],
    generator: str,
    settings: LoadSettings,
) -> tuple[Measured, Measured]:
    """Both servers up at once (one idle while the other is loaded), in alternating rounds."""
    turn = replace(settings, duration_s=max(2, settings.duration_s // ROUNDS))
    with ExitStack() as procs:
        started = []
        for target in (bare, api):
            base, pid = servers.start_gunicorn(
                procs, target.name, target.app_spec, stack.env, API_WORKERS
            )
            sample = requests.request(
                settings.method,
                base + target.paths[0],
                headers=headers,
                data=settings.body,
                timeout=10,
            )
            if sample.status_code >= 300:
                raise RuntimeError(
                    f"{target.name} {target.paths[0]} answered {sample.status_code}: {sample.text}"
                )
            warm_up(base, target.paths, headers, settings=settings)
            started.append((base, pid, target))
        loads: dict[str, list[LoadResult]] = {bare.name: [], api.name: []}
        cpu: dict[str, float] = {bare.name: 0.0, api.name: 0.0}
        for round_no in range(ROUNDS):
            for base, pid, target in started if round_no % 2 == 0 else started[::-1]:
                before = tree_cpu_s(pid)
                loads[target.name].append(
                    run_load(generator, base, target.paths, headers, turn, stack.workdir)
                )
                cpu[target.name] += tree_cpu_s(pid) - before
    bare_m, api_m = (_combine(loads[t.name], cpu[t.name]) for t in (bare, api))
    return bare_m, api_m


def _combine(results: list[LoadResult], cpu_s: float) -> Measured:
    requests_done = sum(r.requests for r in results)
    load = LoadResult(
        results[0].generator,
        requests_done,
        sum(r.duration_s for r in results),
        statistics.median(r.p50_ms for r in results),
        max(r.p99_ms for r in results),
        sum(r.non_2xx for r in results),
        sum(r.socket_errors for r in results),
    )
    return Measured(load, cpu_s * 1000 / requests_done if requests_done else float("nan"))


def run_status(stack: Stack, user_id: str, generator: str, settings: LoadSettings) -> dict:
    seed.insert_pending(stack.app, [user_id] * EXTRA_PENDING)
    ids = _owned_ids(stack, user_id)
    headers = {"Authorization": f"Bearer {issue_token(JWT_SECRET, user_id, 3600)}"}
    say(
        f"  gunicorn --workers {API_WORKERS} on {os.cpu_count()} cores; load: {generator}, "
        f"{settings.connections} connections; {len(ids)} transactions of one user"
    )
    bare, api = _measure_pair(
        stack,
        Target("bench-bare", BARE_APP, [f"/status?transaction_id={tx_id}" for tx_id in ids]),
        Target(
            "bench-api",
            "wsgi:app",
            [f"/api/billing/transactions/status?transaction_id={tx_id}" for tx_id in ids],
        ),
        headers,
        generator,
        settings,
    )
    _describe("bare status", bare)
    _describe("api status", api)
    say(
        f"  -> status {ratio(api.load.rps, bare.load.rps):.2f}x the bare requests/s, "
        f"{ratio(api.cpu_ms, bare.cpu_ms):.2f}x its CPU per request"
    )
    return {
        "status_rps": api.load.rps,
        "status_bare_rps": bare.load.rps,
        "status_rps_ratio": ratio(api.load.rps, bare.load.rps),
        "status_cpu_ms": api.cpu_ms,
        "status_bare_cpu_ms": bare.cpu_ms,
        "status_cpu_ratio": ratio(api.cpu_ms, bare.cpu_ms),
        "status_p99_ms": api.load.p99_ms,
        "status_bare_p99_ms": bare.load.p99_ms,
        "status_non_2xx": api.load.non_2xx + api.load.socket_errors,
    }


def run_intent(stack: Stack, user_id: str, generator: str, settings: LoadSettings) -> dict:
    headers = {
        "Authorization": f"Bearer {issue_token(JWT_SECRET, user_id, 3600)}",
        "Content-Type": "application/json",
    }
    post = LoadSettings(
        connections=settings.connections,
        requests=settings.requests,
        duration_s=settings.duration_s,
        wrk_threads=settings.wrk_threads,
        method="POST",
        body=INTENT_BODY,
    )
    bare, api = _measure_pair(
        stack,
        Target("bench-bare", BARE_APP, ["/intent"]),
        Target("bench-api", "wsgi:app", ["/api/billing/purchase-intent"]),
        headers,
        generator,
        post,
    )
    _describe("bare intent", bare)
    _describe("api intent", api)
    say(f"  -> purchase intent {ratio(api.load.rps, bare.load.rps):.2f}x the bare requests/s")
    return {
        "intent_rps": api.load.rps,
        "intent_bare_rps": bare.load.rps,
        "intent_rps_ratio": ratio(api.load.rps, bare.load.rps),
        "intent_cpu_ms": api.cpu_ms,
        "intent_bare_cpu_ms": bare.cpu_ms,
        "intent_p99_ms": api.load.p99_ms,
        "intent_non_2xx": api.load.non_2xx + api.load.socket_errors,
    }
