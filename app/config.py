"""Configuration profiles. Every setting can come from the environment."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from app.db_pool import pool_options

# Development only: check_production() refuses to start production with this value.
DEFAULT_SECRET = "dev-insecure-secret-change-me"  # noqa: S105
DEFAULT_KASPI_KEY = "dev-kaspi-key"


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


# The Kaspi call budgets read from the environment, each with its ceiling. The
# page gives up on a request after 10 s, so a longer create-link budget would only
# let the buyer see a timeout while the link is still being made; the others stay
# well under the API and worker processes' own time limits.
KASPI_BUDGET_LIMITS = {
    "KASPI_CALL_BUDGET_S": 10.0,
    "KASPI_TIMEOUT_S": 30.0,
    "KASPI_POLL_TIMEOUT_S": 30.0,
}


def _budget_seconds(name: str, text: str, most: float) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {text!r}") from None
    if not 0 < seconds <= most:  # also refuses nan
        raise ConfigError(f"{name} must be more than 0 and at most {most:g} seconds, got {text}")
    return seconds


class Config:
    ENV_NAME = "base"
    DEBUG = False
    TESTING = False
    SQLALCHEMY_DATABASE_URI = "postgresql+psycopg://postgres@127.0.0.1:5432/billing"
    # No pre-ping: a round trip on every checkout costs the status poll a sizeable
    # share of its time (docs/PERFORMANCE.md, "Figures behind the code's design
    # choices"). A connection found dead mid-request raises a disconnect error; SQLAlchemy
    # then invalidates it (and the rest of the pool) so the next checkout reconnects,
    # and the request answers 503 through app/errors.py.
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {}
    REDIS_URL = "redis://127.0.0.1:6379/0"
    KASPI_BASE_URL = "http://127.0.0.1:8090"
    KASPI_API_KEY = DEFAULT_KASPI_KEY
    # Time budgets of Kaspi calls, retries included: an attempt may wait for its
    # answer until the budget ends, and only failures that come back early are
    # retried, while time is left. KASPI_CALL_BUDGET_S is the buyer's create-link
    # (the purchase intent answers within it); KASPI_TIMEOUT_S a status read or a
    # refund outside the poller (cancel, operator commands, late payments).
    KASPI_CALL_BUDGET_S = 10.0
    KASPI_TIMEOUT_S = 5.0
    AUTH_JWT_SECRET = DEFAULT_SECRET
    AUTH_TOKEN_TTL_S = 7 * 24 * 3600
    BILLING_DEV_ENDPOINTS = False
    # Redis lock guarding publishes of one credit owner; PostgreSQL stays the guarantee.
    PUBLISH_LOCK_ENABLED = True
    PUBLISH_LOCK_TIMEOUT_S = 10.0
    PUBLISH_LOCK_WAIT_S = 3.0
    MAX_CONTENT_LENGTH = 64 * 1024
    IDEMPOTENCY_TTL_HOURS = 48
    # Polling schedule for pending transactions: first poll after this, then backoff.
    POLL_INITIAL_DELAY_S = 2.0
    POLL_MAX_DELAY_S = 15.0
    SWEEP_INTERVAL_S = 2.0
    # A claimed transaction is not due again for this long, so nothing is re-claimed
    # while its check waits in the queue; after its check it is rescheduled from the
    # moment Kaspi was asked. A check lost with its worker comes due after the lease.
    POLL_CLAIM_LEASE_S = 30.0
    # One sweep claims at most this many due transactions, sent as batch tasks of
    # CHECK_BATCH_SIZE; each batch asks Kaspi with at most KASPI_CONCURRENCY calls
    # in flight over pooled keep-alive connections.
    SWEEP_CLAIM_LIMIT = 500
    CHECK_BATCH_SIZE = 50
    KASPI_CONCURRENCY = 8
    # Budget of the poller's status calls. Shorter than KASPI_TIMEOUT_S: a slow
    # answer is simply asked for again at the next poll, and must not hold up a batch.
    KASPI_POLL_TIMEOUT_S = 2.0
    # A payment confirmed just before Kaspi's ExpireDate may finish after it; clocks drift.
    PROVIDER_EXPIRY_MARGIN_S = 300.0
    LIFECYCLE_INTERVAL_S = 60.0
    # The late-payment sweep: how often it runs, and how long before it asks Kaspi
    # about the same closed transaction again (within the policy's window).
    LATE_SWEEP_INTERVAL_S = 30.0
    LATE_RECHECK_S = 60.0
    CELERY_TASK_ALWAYS_EAGER = False
    # The Celery broker; empty means REDIS_URL. Production: RabbitMQ (docs/OPERATIONS.md).
    CELERY_BROKER_URL = ""
    # Name of the task queue (and of the exchanges Celery derives from it).
    CELERY_QUEUE = "celery"
    # RabbitMQ only: classic or quorum (app/broker_queues.py).
    CELERY_QUEUE_TYPE = "classic"
    # Logs: "json" lines, or "console" (the development default).
    LOG_FORMAT = "json"
    LOG_LEVEL = "INFO"
    # Each dependency must answer /readyz within this.
    READINESS_TIMEOUT_S = 1.0
    # The Celery worker's own /metrics port (0: none) and liveness heartbeat file ("": none).
    WORKER_METRICS_PORT = 0
    WORKER_HEARTBEAT_FILE = ""
    WORKER_HEARTBEAT_INTERVAL_S = 5.0
    # Server-Sent Events of transaction status (app/billing/stream): the Redis pub/sub channel
    # every status change is announced on, the heartbeat comment period, how long one
    # stream stays open before the client is told to reconnect, and the retry hint.
    PUSH_CHANNEL = "billing:transaction-status"
    PUSH_HEARTBEAT_S = 15.0
    PUSH_MAX_STREAM_S = 300.0
    PUSH_RETRY_MS = 1000
    # How often a stream process brings the Kaspi checks of what it watches forward.
    PUSH_HURRY_EVERY_S = 1.0
    # Origins (comma-separated) of pages allowed to open streams cross-origin: the
    # stream process may listen on another port than the page's API.
    PUSH_ALLOWED_ORIGINS = ""
    # Where the page opens streams: "" = nowhere (the page polls), "/" = its own
    # origin (behind a proxy that routes /api/billing/transactions/<id>/events to the
    # stream process), or the stream process's own URL (`make run`).
    PUSH_PUBLIC_URL = ""

    # Webhooks (docs/WEBHOOKS.md): one POST's budget, the waits after each failed
    # attempt (then dead), how long a claim is leased to one relay, how long a
    # failing endpoint stays enabled, how long a rotated secret still signs.
    WEBHOOK_TIMEOUT_S = 15.0
    WEBHOOK_RETRY_SCHEDULE_S: tuple[float, ...] = (
        5,
        300,
        1800,
        7200,
        18000,
        36000,
        50400,
        72000,
        86400,
    )
    # Longer than a whole round can take when every receiver times out
    # (ceil(WEBHOOK_RELAY_BATCH / WEBHOOK_CONCURRENCY) * WEBHOOK_TIMEOUT_S = 105 s),
    # or a round still sending would see its events sent again by another relay.
    WEBHOOK_LEASE_S = 150.0
    WEBHOOK_DISABLE_AFTER_S = 5 * 86400.0
    WEBHOOK_ROTATION_OVERLAP_S = 86400.0
    # The relay: beat's period, one task's budget, events per claim, POSTs at once.
    WEBHOOK_RELAY_INTERVAL_S = 1.0
    WEBHOOK_RELAY_BUDGET_S = 25.0
    WEBHOOK_RELAY_BATCH = 50
    WEBHOOK_CONCURRENCY = 8
    WEBHOOK_WAKE_TTL_S = 2.0
    # Loopback and private addresses are refused as endpoints in production only.
    WEBHOOK_ALLOW_PRIVATE_URLS = True

    # Fiscal receipts (docs/FISCAL.md): the cloud register (empty FISCAL_BASE_URL:
    # fiscalization is off, and start-up and /readyz say so), one call's budget, the
    # sweep's period and batch, how long a claimed receipt is leased, the waits after
    # each failed attempt (after the last the transaction is held for review as
    # receipt_failed and the receipt is still tried at the last wait), the period
    # of the shift's closing (under 24 h), how far back the sweep looks for facts.
    FISCAL_BASE_URL = ""
    FISCAL_LOGIN = ""
    FISCAL_PASSWORD = ""
    FISCAL_CASHBOX = ""
    FISCAL_TIMEOUT_S = 10.0
    FISCAL_SWEEP_INTERVAL_S = 5.0
    FISCAL_BATCH = 20
    FISCAL_LEASE_S = 120.0
    FISCAL_RETRY_SCHEDULE_S: tuple[float, ...] = (10, 30, 60, 300, 900, 1800, 3600)
    FISCAL_SHIFT_CLOSE_S = 20 * 3600.0
    FISCAL_LOOKBACK_DAYS = 7

    @classmethod
    def from_env(cls) -> dict[str, Any]:
        env = os.environ
        values: dict[str, Any] = {}
        if env.get("WEBHOOK_RETRY_SCHEDULE_S"):
            values["WEBHOOK_RETRY_SCHEDULE_S"] = _seconds_list(env["WEBHOOK_RETRY_SCHEDULE_S"])
        url = env.get("DATABASE_URL")
        if url:
            values["SQLALCHEMY_DATABASE_URI"] = normalize_db_url(url)
        for kind, keys in ENV_SETTINGS.items():
            values.update({key: kind(env[key]) for key in keys if env.get(key)})
        values.update(_fiscal_from_env(env))
        for key, setting in ENV_FLAGS.items():
            if key in env:
                values[setting] = _bool(env[key])
        for key, most in KASPI_BUDGET_LIMITS.items():
            if env.get(key):
                values[key] = _budget_seconds(key, env[key], most)
        if _bool(env.get("DATABASE_PGBOUNCER_TRANSACTION_MODE")):
            # Server-side prepared statements live in one server connection; PgBouncer
            # in transaction mode hands each transaction any connection (unless it is
            # 1.21+ with max_prepared_statements set), so psycopg must not prepare.
            values["SQLALCHEMY_ENGINE_OPTIONS"] = {
                **cls.SQLALCHEMY_ENGINE_OPTIONS,
                "connect_args": {"prepare_threshold": None},
            }
        pool = pool_options(env)  # DATABASE_POOL_SIZE, _MAX_OVERFLOW, _TIMEOUT_S (app/db_pool.py)
        if pool:
            engine = values.get("SQLALCHEMY_ENGINE_OPTIONS", cls.SQLALCHEMY_ENGINE_OPTIONS)
            values["SQLALCHEMY_ENGINE_OPTIONS"] = {**engine, **pool}
        return values


# Settings read from the environment when set (not empty), by the type they take.
ENV_SETTINGS: dict[Callable[[str], Any], tuple[str, ...]] = {
    str: (
        "REDIS_URL",
        "KASPI_BASE_URL",
        "KASPI_API_KEY",
        "AUTH_JWT_SECRET",
        "CELERY_BROKER_URL",
        "CELERY_QUEUE",
        "CELERY_QUEUE_TYPE",
        "LOG_FORMAT",
        "LOG_LEVEL",
        "WORKER_HEARTBEAT_FILE",
        "PUSH_ALLOWED_ORIGINS",
        "PUSH_PUBLIC_URL",
    ),
    float: (
        "POLL_INITIAL_DELAY_S",
        "POLL_MAX_DELAY_S",
        "SWEEP_INTERVAL_S",
        "PROVIDER_EXPIRY_MARGIN_S",
        "POLL_CLAIM_LEASE_S",
        "READINESS_TIMEOUT_S",
        "WORKER_HEARTBEAT_INTERVAL_S",
        "LATE_SWEEP_INTERVAL_S",
        "LATE_RECHECK_S",
        "PUSH_HEARTBEAT_S",
        "PUSH_MAX_STREAM_S",
        "PUSH_HURRY_EVERY_S",
        "WEBHOOK_TIMEOUT_S",
        "WEBHOOK_LEASE_S",
        "WEBHOOK_DISABLE_AFTER_S",
        "WEBHOOK_ROTATION_OVERLAP_S",
        "WEBHOOK_RELAY_INTERVAL_S",
        "WEBHOOK_RELAY_BUDGET_S",
        "WEBHOOK_WAKE_TTL_S",
    ),
    int: (
        "SWEEP_CLAIM_LIMIT",
        "CHECK_BATCH_SIZE",
        "KASPI_CONCURRENCY",
        "WORKER_METRICS_PORT",
        "PUSH_RETRY_MS",
        "WEBHOOK_RELAY_BATCH",
        "WEBHOOK_CONCURRENCY",
    ),
}
# Switches read from the environment when present (empty is off): variable → setting.
ENV_FLAGS = {
    "BILLING_DEV_ENDPOINTS": "BILLING_DEV_ENDPOINTS",
    "PUBLISH_LOCK_ENABLED": "PUBLISH_LOCK_ENABLED",
    "FLASK_DEBUG": "DEBUG",
    "WEBHOOK_ALLOW_PRIVATE_URLS": "WEBHOOK_ALLOW_PRIVATE_URLS",
}


def _fiscal_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """The fiscal register's settings (docs/FISCAL.md), when set and not empty."""
    kinds: dict[str, Callable[[str], Any]] = {
        "FISCAL_BASE_URL": str,
        "FISCAL_LOGIN": str,
        "FISCAL_PASSWORD": str,
        "FISCAL_CASHBOX": str,
        "FISCAL_TIMEOUT_S": float,
        "FISCAL_SWEEP_INTERVAL_S": float,
        "FISCAL_LEASE_S": float,
        "FISCAL_SHIFT_CLOSE_S": float,
        "FISCAL_BATCH": int,
        "FISCAL_LOOKBACK_DAYS": int,
    }
    values = {key: kind(env[key]) for key, kind in kinds.items() if env.get(key)}
    if env.get("FISCAL_RETRY_SCHEDULE_S"):
        values["FISCAL_RETRY_SCHEDULE_S"] = _seconds_list(env["FISCAL_RETRY_SCHEDULE_S"])
    return values


def _seconds_list(text: str) -> tuple[float, ...]:
    """``5,300,1800``: the waits after each failed webhook attempt."""
    try:
        waits = tuple(float(part) for part in text.split(","))
    except ValueError as exc:
        raise ValueError(
            f"WEBHOOK_RETRY_SCHEDULE_S: not comma-separated seconds: {text!r}"
        ) from exc
    if not waits or any(wait <= 0 for wait in waits):
        raise ValueError(f"WEBHOOK_RETRY_SCHEDULE_S: waits must be positive: {text!r}")
    return waits


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    LOG_FORMAT = "console"
    # `make run`: the page's API on API_PORT (8000), the stream process (Procfile
    # `stream`) on STREAM_PORT, by default the next port.
    PUSH_PUBLIC_URL = "http://127.0.0.1:8001"

    @classmethod
    def from_env(cls) -> dict[str, Any]:
        values = super().from_env()
        env = os.environ
        if "PUSH_PUBLIC_URL" not in env and (env.get("STREAM_PORT") or env.get("API_PORT")):
            port = env.get("STREAM_PORT") or str(int(env["API_PORT"]) + 1)
            values["PUSH_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
        return values


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    # The stub expires payments on demand; tests need not wait out the margin.
    PROVIDER_EXPIRY_MARGIN_S = 0.0
    # Tests that take Kaspi down on purpose need not wait out a buyer's whole budget.
    KASPI_CALL_BUDGET_S = 3.0
    SQLALCHEMY_DATABASE_URI = "postgresql+psycopg://postgres@127.0.0.1:5432/billing_test"
    REDIS_URL = "redis://127.0.0.1:6379/15"


class ProductionConfig(Config):
    ENV_NAME = "production"
    WEBHOOK_ALLOW_PRIVATE_URLS = False


PROFILES: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def normalize_db_url(url: str) -> str:
    """Accept the usual postgres:// spellings and pin SQLAlchemy to psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def broker_url(config: Mapping[str, Any]) -> str:
    """``CELERY_BROKER_URL``, or the Redis URL when none is set."""
    return str(config.get("CELERY_BROKER_URL") or config["REDIS_URL"])


class ConfigError(RuntimeError):
    """Raised when the configuration is unsafe for the chosen profile."""


def check_production(config: Mapping[str, Any]) -> None:
    """Refuse to run production with development conveniences left on."""
    problems = []
    if config.get("AUTH_JWT_SECRET") in (None, "", DEFAULT_SECRET):
        problems.append("AUTH_JWT_SECRET is unset or the development default")
    elif len(config["AUTH_JWT_SECRET"]) < 32:
        problems.append("AUTH_JWT_SECRET must be at least 32 characters")
    if config.get("KASPI_API_KEY") in (None, "", DEFAULT_KASPI_KEY):
        problems.append("KASPI_API_KEY is unset or the development default")
    if config.get("BILLING_DEV_ENDPOINTS"):
        problems.append("BILLING_DEV_ENDPOINTS must be off")
    if config.get("DEBUG"):
        problems.append("debug mode must be off")
    problems += _fiscal_problems(config)
    if problems:
        raise ConfigError("refusing to start in production: " + "; ".join(problems))


def _fiscal_problems(config: Mapping[str, Any]) -> list[str]:
    """A register named without its credentials would refuse every receipt."""
    if not config.get("FISCAL_BASE_URL"):
        return []  # off: said at start-up and in /readyz (docs/FISCAL.md)
    missing = [
        k for k in ("FISCAL_LOGIN", "FISCAL_PASSWORD", "FISCAL_CASHBOX") if not config.get(k)
    ]
    return [f"FISCAL_BASE_URL is set but {', '.join(missing)} not"] if missing else []
