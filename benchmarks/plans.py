"""EXPLAIN of every sweep query at a large table: each must stay an index scan.

Seeds ``rows`` transactions cheaply with generate_series (almost all settled,
a thin slice pending, as in production), ANALYZEs, and asks PostgreSQL for the
plan of each sweep's real statement (built by the domains' locks modules). A plan
with a sequential scan of a sweep table is reported as a failure.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import Connection, Executable, text

from app.billing.core import locks
from app.clubs import locks as club_locks
from app.extensions import db
from benchmarks.report import say
from benchmarks.stack import Stack

SEED_SQL = """
INSERT INTO transactions (id, user_id, product_code, quantity, amount, currency, status,
    provider, poll_interval_s, expires_at, next_poll_at, poll_attempts, created_at, updated_at,
    settled_at)
SELECT gen_random_uuid(), :user_id, 'EVENT_UPGRADE_500', 1, 1000.00, 'KZT',
    CASE WHEN n % 1000 = 0 THEN 'pending' ELSE 'completed' END, 'kaspi', 5,
    now() + interval '1 hour',
    CASE WHEN n % 1000 = 0 THEN now() + (n % 600) * interval '1 second' END, 0, now(), now(),
    CASE WHEN n % 1000 = 0 THEN NULL ELSE now() END
FROM generate_series(1, :rows) AS n
"""
# Clubs with subscriptions for the lifecycle sweep: a tenth of the transactions,
# almost all active with their period ending later.
SEED_SUBSCRIPTIONS_SQL = """
WITH clubs AS (
    INSERT INTO clubs (id, name, owner_id, created_at)
    SELECT gen_random_uuid(), 'club ' || n, :user_id, now() FROM generate_series(1, :rows) AS n
    RETURNING id
)
INSERT INTO club_subscriptions (id, club_id, plan_id, status, current_period_start,
    current_period_end, grace_until, updated_at)
SELECT gen_random_uuid(), id, 'club_50', 'active', now() - interval '1 day',
    now() + (random() * 30 + 1) * interval '1 day', now() + interval '40 days', now()
FROM clubs
"""
ANALYZE_SQL = "ANALYZE transactions, clubs, club_subscriptions"


def sweep_statements(now: datetime) -> dict[str, Executable]:
    """Every sweep's statement, built by the locks modules, exactly as the sweeps send it."""
    return {
        "claim_due_pending": locks.claim_due_pending_statement(
            now, 500, now + timedelta(seconds=30)
        ),
        "claim_expired_pending": locks.expired_pending_statement(now, 200),
        "claim_closed_unpaid": locks.closed_unpaid_statement(
            now - timedelta(days=7), now, timedelta(minutes=1), 100
        ),
        "claim_subscriptions_due": club_locks.subscriptions_due_statement(now, 200),
    }


def seq_scans(plan: dict) -> list[str]:
    found = []
    stack = [plan["Plan"]]
    while stack:
        node = stack.pop()
        if node.get("Node Type") == "Seq Scan":
            found.append(node.get("Relation Name", "?"))
        stack.extend(node.get("Plans", []))
    return found


def explain_all(
    app: Flask, now: datetime, connection: Connection | None = None
) -> dict[str, list[str]]:
    """Sweep name -> relations it scans sequentially (empty when all are index scans)."""
    result = {}
    with app.app_context():
        for name, stmt in sweep_statements(now).items():
            compiled = stmt.compile(
                dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True}
            )
            sql = "EXPLAIN (FORMAT JSON) " + str(compiled)
            if connection is not None:
                raw = connection.exec_driver_sql(sql, compiled.params).scalar()
            else:
                with db.engine.connect() as conn:
                    raw = conn.exec_driver_sql(sql, compiled.params).scalar()
            plan = (raw if isinstance(raw, list) else json.loads(raw))[0]
            result[name] = seq_scans(plan)
    return result


def seed_sql(rows: int) -> list[tuple[str, dict[str, int]]]:
    """The statements (and their row counts) that fill the tables for a plan check."""
    return [
        # Bulk rows whose references are known good: skip the per-row FK triggers
        # (superuser only; this transaction only).
        ("SET LOCAL session_replication_role = replica", {}),
        (SEED_SQL, {"rows": rows}),
        (SEED_SUBSCRIPTIONS_SQL, {"rows": max(1, rows // 10)}),
        (ANALYZE_SQL, {}),
    ]


def seed(app: Flask, rows: int, user_id: str) -> None:
    with app.app_context():
        for sql, params in seed_sql(rows):
            db.session.execute(text(sql), {**params, "user_id": user_id})
        db.session.commit()


def run(stack: Stack, rows: int) -> dict:
    seed(stack.app, rows, "bench-user-000")
    scans = explain_all(stack.app, datetime.now(UTC))
    for name, relations in scans.items():
        say(f"  {name}: {'index scan' if not relations else 'SEQ SCAN of ' + ', '.join(relations)}")
    bad = sorted(name for name, relations in scans.items() if relations)
    return {"plans_rows": rows, "plans_seq_scans": bad, "plans_all_indexed": not bad}
