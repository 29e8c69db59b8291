"""Every Prometheus metric of the service, and the ``/metrics`` exposition.

Multiprocess mode: when ``PROMETHEUS_MULTIPROC_DIR`` is set (it must be set before
the process imports ``prometheus_client``, and emptied at deploy start) each
process — gunicorn worker or Celery pool child — writes its samples to files
there, and ``/metrics`` (API) or the worker's own metrics port sums them.
Without it, the process's own registry is exposed (development, tests).

Gauges about the database (pending count, oldest pending age, needs_review
count) are not pushed by anyone: :class:`DatabaseCollector` reads them when
Prometheus scrapes the API, through the readers the domains register
(:func:`register_database_gauges`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping

from flask import Flask
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
# From purchase intent to completion: a buyer takes seconds to minutes to pay.
SETTLE_BUCKETS = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600, 7200)
LAG_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300)

# -- HTTP -----------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "billing_http_requests_total",
    "HTTP requests answered, by route template, method and status",
    ["endpoint", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "billing_http_request_duration_seconds",
    "HTTP request handling time, by route template and method",
    ["endpoint", "method"],
    buckets=LATENCY_BUCKETS,
)

# -- transactions ---------------------------------------------------------
TRANSITIONS = Counter(
    "billing_transaction_transitions_total",
    "Committed transaction status changes (from 'none' is a creation), by source",
    ["from_status", "to_status", "source"],
)
TIME_TO_SETTLE = Histogram(
    "billing_transaction_time_to_settle_seconds",
    "Time from a transaction's creation to the status that closed its pending state",
    ["to_status"],
    buckets=SETTLE_BUCKETS,
)
REFUND_ATTEMPTS = Counter(
    "billing_refund_attempts_total",
    "Committed outcomes of refunds asked of Kaspi (unknown: held for review, re-asked)",
    ["kind", "state"],
)
SWEEP_LAG = Histogram(
    "billing_sweep_lag_seconds",
    "How late the poll sweep claimed a due pending transaction (now - next_poll_at)",
    buckets=LAG_BUCKETS,
)

# -- Kaspi ----------------------------------------------------------------
KASPI_REQUESTS = Counter(
    "billing_kaspi_requests_total",
    "Calls to Kaspi by endpoint and outcome (ok, rejected, unavailable, error)",
    ["endpoint", "outcome"],
)
KASPI_LATENCY = Histogram(
    "billing_kaspi_request_duration_seconds",
    "Kaspi call time including the client's own retries, by endpoint",
    ["endpoint"],
    buckets=LATENCY_BUCKETS,
)

# -- publishing -----------------------------------------------------------
PUBLISH_OUTCOMES = Counter(
    "billing_publish_outcomes_total",
    "Publish requests by HTTP status and error code (OK for 200)",
    ["status", "code"],
)
EDIT_OUTCOMES = Counter(
    "billing_event_edit_outcomes_total",
    "Event edits (PATCH) by HTTP status and error code (OK for 200): an enlarging edit of a "
    "published free event answers 402/409 as publish does",
    ["status", "code"],
)
REQUIREMENT_OUTCOMES = Counter(
    "billing_event_requirements_total",
    "What the page was told a publish or a resize would need, by outcome",
    ["outcome"],
)
PUBLISH_LOCK_WAIT = Histogram(
    "billing_publish_lock_wait_seconds",
    "Time spent acquiring the per-owner Redis publish lock, by result",
    ["result"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10),
)

# -- push status (app/billing/stream) ----------------------------------------------
PUSH_STREAMS_OPEN = Gauge(
    "billing_push_streams_open",
    "Server-Sent Events streams open in this stream process",
    multiprocess_mode="livesum",
)
# Of the open ones, those waiting parked (app/billing/stream/parked.py): no greenlet each.
PUSH_STREAMS_PARKED = Gauge(
    "billing_push_streams_parked",
    "Open status streams waiting parked (a socket and a record, no greenlet each)",
    multiprocess_mode="livesum",
)
PUSH_STREAMS_ENDED = Counter(
    "billing_push_streams_ended_total",
    "Status streams that ended, by reason (final, max_duration, client_closed, short_stream,"
    " gone, error, shutdown)",
    ["reason"],
)
PUSH_EVENTS_SENT = Counter("billing_push_events_sent_total", "status events sent on streams")
PUSH_NOTICES = Counter(
    "billing_push_notices_total",
    "After-commit status notices to Redis pub/sub, by outcome (published, failed)",
    ["outcome"],
)
PUSH_REDIS_SUBSCRIBED = Gauge(
    "billing_push_redis_subscribed",
    "1 while this stream process's pub/sub subscription is up (0: streams read PostgreSQL)",
    multiprocess_mode="liveall",
)

# -- Celery ---------------------------------------------------------------
WEBHOOK_DELIVERIES = Counter(
    "billing_webhook_deliveries_total",
    "Webhook attempts by outcome (delivered, retry, dead, gone, stale)",
    ["outcome"],
)
WEBHOOK_LATENCY = Histogram(
    "billing_webhook_attempt_seconds",
    "Duration of one webhook POST, answered or not",
    buckets=LATENCY_BUCKETS,
)
WEBHOOK_ENDPOINTS_DISABLED = Counter(
    "billing_webhook_endpoints_disabled_total",
    "Endpoints disabled by the service (410 Gone, failing for too long)",
    ["reason"],
)

TASK_RUNS = Counter("billing_celery_task_runs_total", "Celery task executions", ["task"])
TASK_FAILURES = Counter(
    "billing_celery_task_failures_total", "Celery task executions that raised", ["task"]
)
TASK_RETRIES = Counter(
    "billing_celery_task_retries_total", "Celery task executions that asked for a retry", ["task"]
)
TASK_DURATION = Histogram(
    "billing_celery_task_duration_seconds",
    "Celery task run time",
    ["task"],
    buckets=LATENCY_BUCKETS,
)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def process_registry() -> CollectorRegistry:
    """This process's metrics, or every process's when running in multiprocess mode."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        # Type-check exemption: prometheus_client's multiprocess helpers are unannotated.
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


DB_GAUGES_UP = "billing_db_gauges_up"
PENDING = "billing_transactions_pending"
OLDEST_PENDING_AGE = "billing_transactions_oldest_pending_age_seconds"
NEEDS_REVIEW = "billing_transactions_needs_review"
OUTBOX_LAG = "billing_webhook_outbox_lag_seconds"
WEBHOOK_PENDING = "billing_webhook_deliveries_pending"
WEBHOOK_DEAD = "billing_webhook_deliveries_dead"
WEBHOOK_ENDPOINTS_OFF = "billing_webhook_endpoints_disabled"
DATABASE_GAUGES: tuple[str, ...] = (
    DB_GAUGES_UP,
    PENDING,
    OLDEST_PENDING_AGE,
    NEEDS_REVIEW,
    OUTBOX_LAG,
    WEBHOOK_PENDING,
    WEBHOOK_DEAD,
    WEBHOOK_ENDPOINTS_OFF,
)
_GAUGE_HELP = {
    PENDING: "Transactions in status pending",
    OLDEST_PENDING_AGE: "Age of the oldest pending transaction (0 when none)",
    NEEDS_REVIEW: "Transactions held for an operator (status needs_review)",
    OUTBOX_LAG: "Age of the oldest event not yet delivered to an enabled endpoint (0 when none)",
    WEBHOOK_PENDING: "Webhook deliveries pending (to enabled endpoints)",
    WEBHOOK_DEAD: "Webhook deliveries that exhausted their retries",
    WEBHOOK_ENDPOINTS_OFF: "Webhook endpoints disabled (by an operator, a 410, or 5 days failing)",
}
# The functions a domain registered to read its gauges (each answers {name: value}).
_GAUGE_READERS = "database_gauge_readers"
GaugeReader = Callable[[], Mapping[str, float]]


def register_database_gauges(app: Flask, read: GaugeReader) -> None:
    """``read`` runs at scrape time inside the collector's step (see :class:`DatabaseCollector`)."""
    app.extensions.setdefault(_GAUGE_READERS, []).append(read)


class DatabaseCollector(Collector):
    """Gauges read from PostgreSQL at scrape time.

    Each registered reader runs in one short read-only step, bounded by a
    statement timeout so a slow database cannot hang a scrape. Every API process
    reports the same global values: aggregate them with ``max``.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        from sqlalchemy import text

        from app.db import step
        from app.extensions import db

        up = GaugeMetricFamily(DB_GAUGES_UP, "1 when the database gauges below could be read")
        values: dict[str, float] = {}
        try:
            # One short read-only step of its own (the scrape is not an endpoint edge).
            with self.app.app_context(), step():
                db.session.execute(text("SET LOCAL statement_timeout = 2000"))
                for read in self.app.extensions.get(_GAUGE_READERS, []):
                    values.update(read())
        except Exception as exc:  # a scrape must answer even when the database does not
            log.warning("database gauges unavailable: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        for name, value in values.items():
            yield GaugeMetricFamily(name, _GAUGE_HELP.get(name, name), value=value)


def exposition(app: Flask) -> tuple[bytes, str]:
    """The text of ``/metrics``: process (or multiprocess) metrics and database gauges."""
    gauges = CollectorRegistry(auto_describe=False)
    gauges.register(DatabaseCollector(app))
    return generate_latest(process_registry()) + generate_latest(gauges), CONTENT_TYPE_LATEST


# -- the operator console --------------------------------------------------------------

OPERATOR_ACTIONS = Counter(
    "billing_operator_actions_total",
    "Operator console actions (resolve, refund) by action and committed outcome",
    ["action", "outcome"],
)


# -- the buyer's purchase (added with the cancel that closes Kaspi's link) ---------

CANCEL_OUTCOMES = Counter(
    "billing_cancel_outcomes_total",
    "Buyers' cancels by outcome: closed (Kaspi closed the link), open (the link could"
    " not be closed; a late payment is found by the sweep), paid (it was paid meanwhile)",
    ["outcome"],
)
INTENTS_WITHDRAWN = Counter(
    "billing_purchase_intents_withdrawn_total",
    "Purchase intents refused with 503 because their database connection died, by what"
    " became of what they left: closed (payment voided at Kaspi, row closed), nothing_left"
    " (no row had been committed), deferred (a"
    " task closes the row once the database answers), left_to_poller (Kaspi did not"
    " confirm the void: the poller settles the row), left_to_sweep (voided, but neither"
    " the row could be closed nor the task sent: the expiry sweep closes it)",
    ["outcome"],
)
OPEN_PURCHASE_REFUSED = Counter(
    "billing_open_purchase_refused_total",
    "Purchase intents refused because the same event already has an open purchase",
)

# -- renewals (docs/OPERATIONS.md, "Renewals") ----------------------------------------

RENEWAL_REMINDERS = Counter(
    "billing_renewal_reminders_total",
    "subscription.renewal_due reminders written to the outbox, by the policy's reminder day",
    ["reminder_day"],
)
RENEWALS = Counter(
    "billing_renewals_total",
    "POST /api/clubs/<id>/renew answers by kind (renewal, upgrade) and outcome "
    "(created, pending: the one already open)",
    ["kind", "outcome"],
)
RENEWALS_HELD = Counter(
    "billing_renewals_held_total",
    "Renewal or upgrade payments held for review instead of granting a second period",
    ["kind"],
)
RENEWAL_INVOICES = Counter(
    "billing_renewal_invoices_total",
    "Renewal invoices pushed to an owner's phone (Kaspi remote/create) by outcome "
    "(sent, failed: Kaspi refused or did not answer)",
    ["outcome"],
)

# -- fiscal receipts (docs/FISCAL.md) ----------------------------------------------------

FISCAL_RECEIPTS = Counter(
    "billing_fiscal_receipts_total",
    "Fiscal receipt attempts by kind (sale, return) and committed outcome (issued, repeated:"
    " the register already had it, unavailable, refused, held: the transaction went to review)",
    ["kind", "outcome"],
)
FISCAL_SHIFT_CLOSES = Counter(
    "billing_fiscal_shift_closes_total",
    "Shift closings (Z-reports) asked of the register, by outcome (closed, failed)",
    ["outcome"],
)
FISCAL_ENABLED = "billing_fiscal_enabled"
FISCAL_OLDEST_UNFISCALIZED_SALE = "billing_fiscal_oldest_unfiscalized_sale_seconds"
FISCAL_PENDING = "billing_fiscal_receipts_pending"
FISCAL_HELD = "billing_fiscal_receipts_held"
_GAUGE_HELP.update(
    {
        FISCAL_ENABLED: "1 when a fiscal register is configured (FISCAL_BASE_URL), 0 when off",
        FISCAL_OLDEST_UNFISCALIZED_SALE: "Age of the oldest sale (completed transaction) without"
        " an issued receipt (0 when none)",
        FISCAL_PENDING: "Receipts owed and not yet issued (sales and returns)",
        FISCAL_HELD: "Receipts not issued after every retry (their transaction held for review)",
    }
)
DATABASE_GAUGES = (
    *DATABASE_GAUGES,
    FISCAL_ENABLED,
    FISCAL_OLDEST_UNFISCALIZED_SALE,
    FISCAL_PENDING,
    FISCAL_HELD,
)


# -- the stream process under load (issue 29) ---------------------------------------

PUSH_STREAMS_REFUSED = Counter(
    "billing_push_streams_refused_total",
    "Status streams refused at once with 503 and Retry-After, by reason (pool_full: every"
    " database connection of the stream process was taken; full: it holds as many streams"
    " as its descriptors allow)",
    ["reason"],
)
DB_READ_RETRIES = Counter(
    "billing_db_read_retries_total",
    "Read-only requests whose database connection died and that were run once more on a"
    " fresh one, by outcome (answered, failed: answered 503)",
    ["outcome"],
)
