"""The API against the bare stack (benchmarks/bare_app.py), side by side in one run.

- status poll: authenticated GET /api/billing/transactions/status against the bare
  app's JWT decode + one primary-key SELECT; requests/s and the server's CPU per
  request (gunicorn master and workers, user + system time);
- purchase intent: POST /api/billing/purchase-intent against the bare app's one
  INSERT + the stub's create-link.

Both servers run the same number of gunicorn workers and face the same load
generator with the same settings, one after the other (never both at once).
"""

from __future__ import annotations

import json
import os
import uuid
from contextlib import ExitStack
from dataclasses import dataclass

import requests
from sqlalchemy import select

from app.auth.tokens import issue_token
from app.billing.models import Transaction
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


def _measure(
    stack: Stack,
    app_spec: str,
    name: str,
    paths: list[str],
    headers: dict[str, str],
    generator: str,
    settings: LoadSettings,
) -> Measured:
    with ExitStack() as procs:
        base, pid = servers.start_gunicorn(procs, name, app_spec, stack.env, API_WORKERS)
        sample = requests.request(
            settings.method, base + paths[0], headers=headers, data=settings.body, timeout=10
        )
        if sample.status_code >= 300:
            raise RuntimeError(f"{name} {paths[0]} answered {sample.status_code}: {sample.text}")
        warm_up(base, paths, headers, settings=settings)
        before = tree_cpu_s(pid)
        load = run_load(generator, base, paths, headers, settings, stack.workdir)
        cpu_s = tree_cpu_s(pid) - before
    return Measured(load, cpu_s * 1000 / load.requests if load.requests else float("nan"))


def run_status(stack: Stack, user_id: str, generator: str, settings: LoadSettings) -> dict:
    seed.insert_pending(stack.app, [user_id] * EXTRA_PENDING)
    ids = _owned_ids(stack, user_id)
    headers = {"Authorization": f"Bearer {issue_token(JWT_SECRET, user_id, 3600)}"}
    say(
        f"  gunicorn --workers {API_WORKERS} on {os.cpu_count()} cores; load: {generator}, "
        f"{settings.connections} connections; {len(ids)} transactions of one user"
    )
    bare = _measure(
        stack,
        BARE_APP,
        "bench-bare",
        [f"/status?transaction_id={tx_id}" for tx_id in ids],
        headers,
        generator,
        settings,
    )
    _describe("bare status", bare)
    api = _measure(
        stack,
        "wsgi:app",
        "bench-api",
        [f"/api/billing/transactions/status?transaction_id={tx_id}" for tx_id in ids],
        headers,
        generator,
        settings,
    )
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
    bare = _measure(stack, BARE_APP, "bench-bare", ["/intent"], headers, generator, post)
    _describe("bare intent", bare)
    api = _measure(
        stack, "wsgi:app", "bench-api", ["/api/billing/purchase-intent"], headers, generator, post
    )
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
