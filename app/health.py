"""Liveness and readiness probes.

- ``/healthz``: the process answers. Nothing else is checked, so a load balancer
  or supervisor never restarts a healthy API because a dependency is down.
- ``/readyz``: PostgreSQL, Redis and the Celery broker each answer within
  ``READINESS_TIMEOUT_S``; otherwise 503 naming the ones that did not. The checks
  run side by side, so the probe answers within about one timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import redis
from flask import Blueprint, Flask, current_app
from kombu.connection import Connection
from sqlalchemy import text

from app.errors import ApiError

bp = Blueprint("health", __name__)
# Shared by all probes of the process; a hung check holds a thread only until its timeout.
_POOL = ThreadPoolExecutor(max_workers=6, thread_name_prefix="readyz")


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@bp.get("/readyz")
def readyz() -> dict[str, object]:
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    timeout = float(app.config["READINESS_TIMEOUT_S"])
    checks = {
        "postgres": lambda: _check_postgres(app, timeout),
        "redis": lambda: _check_redis(app, timeout),
        "broker": lambda: _check_broker(app.config["CELERY_BROKER_URL"], timeout),
    }
    results = run_checks(checks, timeout)
    failed = [name for name, result in results.items() if not result["ok"]]
    if failed:
        raise ApiError(
            503,
            "NOT_READY",
            "Not ready: " + ", ".join(failed) + " did not answer",
            failed=failed,
            checks=results,
        )
    return {"status": "ready", "checks": results, "fiscal": fiscal_detail(app)}


def fiscal_detail(app: Flask) -> dict[str, object]:
    """Whether receipts are issued: a register that is down does not make the API
    unready (receipts are issued from the outbox later), but "off" is never silent."""
    from app.billing.fiscal.provider import OFF_MESSAGE, enabled

    if not enabled(app):
        return {"enabled": False, "detail": OFF_MESSAGE}
    return {"enabled": True, "detail": f"cashbox {app.config['FISCAL_CASHBOX']}"}


def run_checks(
    checks: dict[str, Callable[[], None]], timeout: float
) -> dict[str, dict[str, object]]:
    started = time.perf_counter()
    futures = {name: _POOL.submit(_timed, check) for name, check in checks.items()}
    results: dict[str, dict[str, object]] = {}
    for name, future in futures.items():
        remaining = max(0.0, timeout + 0.5 - (time.perf_counter() - started))
        try:
            results[name] = future.result(timeout=remaining)
        except FutureTimeout:
            results[name] = {"ok": False, "error": f"no answer within {timeout}s"}
    return results


def _timed(check: Callable[[], None]) -> dict[str, object]:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _check_postgres(app: Flask, timeout: float) -> None:
    from app.extensions import db

    # Its own pooled connection; returning it to the pool ends the read (reset on return).
    with app.app_context(), db.engine.connect() as conn:
        conn.execute(text(f"SET LOCAL statement_timeout = {int(timeout * 1000)}"))
        conn.execute(text("SELECT 1"))


def _check_redis(app: Flask, timeout: float) -> None:
    client = app.extensions.get("readiness_redis")
    if client is None:
        client = redis.Redis.from_url(
            app.config["REDIS_URL"], socket_timeout=timeout, socket_connect_timeout=timeout
        )
        app.extensions["readiness_redis"] = client
    client.ping()


def _check_broker(url: str, timeout: float) -> None:
    options = {"socket_timeout": timeout}
    broker = Connection(url, connect_timeout=timeout, transport_options=options)  # type: ignore[no-untyped-call]
    with broker as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
        # Redis connects lazily: opening a channel is a round trip to the broker.
        conn.channel().close()
