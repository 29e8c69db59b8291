"""Status-poll throughput: gunicorn wsgi:app (--workers 4) answering authenticated
GET /api/billing/transactions/status, against GET /healthz (no auth, no DB) as baseline.

Each status request verifies the JWT, provisions the user (an INSERT ... ON
CONFLICT DO NOTHING) and reads one row by primary key and owner.
"""

from __future__ import annotations

import os
import uuid
from contextlib import ExitStack

import requests
from sqlalchemy import select

from app.auth.tokens import issue_token
from app.billing.models import Transaction
from app.extensions import db
from benchmarks import seed, servers
from benchmarks.load import LoadResult, LoadSettings, run_load, warm_up
from benchmarks.report import Row, ratio, say
from benchmarks.stack import JWT_SECRET, Stack

API_WORKERS = 4
EXTRA_PENDING = 25  # unpaid intents, so the polled mix is completed and pending rows


def _owned_ids(stack: Stack, user_id: str) -> list[uuid.UUID]:
    with stack.app.app_context():
        ids = list(db.session.scalars(select(Transaction.id).where(Transaction.user_id == user_id)))
        db.session.rollback()
    return ids


def _describe(label: str, result: LoadResult) -> None:
    say(
        f"  {label:<8} {result.generator}: {result.requests:,} requests in "
        f"{result.duration_s:.1f}s = {result.rps:,.0f} req/s  p50 {result.p50_ms:.1f} ms  "
        f"p99 {result.p99_ms:.1f} ms  "
        f"non-2xx {result.non_2xx}  socket errors {result.socket_errors}"
    )


def run(stack: Stack, user_id: str, generator: str, settings: LoadSettings) -> list[Row]:
    seed.insert_pending(stack.app, [user_id] * EXTRA_PENDING)
    ids = _owned_ids(stack, user_id)
    paths = [f"/api/billing/transactions/status?transaction_id={tx_id}" for tx_id in ids]
    headers = {"Authorization": f"Bearer {issue_token(JWT_SECRET, user_id, 3600)}"}

    with ExitStack() as procs:
        base = servers.start_gunicorn(procs, "bench-api", "wsgi:app", stack.env, API_WORKERS)
        sample = requests.get(base + paths[0], headers=headers, timeout=10)
        if sample.status_code != 200:
            raise RuntimeError(f"status endpoint answered {sample.status_code}: {sample.text}")
        warm_up(base, ["/healthz"], {})
        warm_up(base, paths, headers)
        what = (
            f"{settings.connections} connections x {settings.duration_s}s, "
            f"{settings.wrk_threads} wrk threads"
            if generator == "wrk"
            else f"{settings.connections} client threads x {settings.requests:,} requests"
        )
        say(
            f"  gunicorn --workers {API_WORKERS} on {os.cpu_count()} cores; load: {generator}, "
            f"{what}; {len(ids)} transactions of one user"
        )
        health = run_load(generator, base, ["/healthz"], {}, settings, stack.workdir)
        _describe("healthz", health)
        status = run_load(generator, base, paths, headers, settings, stack.workdir)
        _describe("status", status)

    name = "status-poll"
    return [
        Row(name, "healthz (baseline)", health.rps, "req/s", f"p50 {health.p50_ms:.1f} ms"),
        Row(name, "healthz p99", health.p99_ms, "ms", f"non-2xx {health.non_2xx}"),
        Row(name, "status", status.rps, "req/s", f"p50 {status.p50_ms:.1f} ms"),
        Row(name, "status p99", status.p99_ms, "ms", f"non-2xx {status.non_2xx}"),
        Row(name, "status / healthz", ratio(status.rps, health.rps), "x", f"load: {generator}"),
    ]
