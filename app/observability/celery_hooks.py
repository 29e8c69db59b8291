"""Celery observability through signals (the task base class stays untouched).

- logging: Celery's ``setup_logging`` signal hands logging to us, so worker and
  beat log through the same JSON handler as the API;
- request id: ``before_task_publish`` puts the sender's request id in the
  message headers; ``task_prerun`` binds it (with the task id, task name and a
  ``transaction_id`` argument) to the log context of the run. A task sent by
  beat has no request: once a service has read a transaction's row, it binds
  the id of the purchase request that created it, a column of the row
  (``app.observability.context.transaction_log_context``);
- metrics: runs, failures, retries and duration per task;
- the worker's own ``/metrics`` port and liveness heartbeat (``heartbeat.py``).
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import time
from typing import Any

from celery import Celery, signals
from flask import Flask

from app.observability import celery_lines, context, heartbeat, metrics
from app.observability.logs import configure_logging

log = logging.getLogger(__name__)
HEADER = "request_id"
_state: dict[str, Any] = {"flask_app": None}
_runs: dict[str, tuple[float, context.Tokens]] = {}
_params: dict[str, bool] = {}


def install(celery_app: Celery, flask_app: Flask) -> None:
    _state["flask_app"] = flask_app
    config = flask_app.config
    # Celery's banner, "Warm shutdown" and pool process deaths as JSON lines too.
    celery_lines.install(config.get("LOG_FORMAT", "json"))
    if config.get("WORKER_HEARTBEAT_FILE"):
        heartbeat.configure(
            config["WORKER_HEARTBEAT_FILE"], float(config["WORKER_HEARTBEAT_INTERVAL_S"])
        )
        celery_app.steps["consumer"].add(heartbeat.HeartbeatStep)


def _setup_logging(**_kwargs: Any) -> None:
    app = _state["flask_app"]
    config = app.config if app is not None else {}
    configure_logging(config.get("LOG_FORMAT", "json"), config.get("LOG_LEVEL", "INFO"))
    if config.get("LOG_FORMAT", "json") == "json":
        celery_lines.pool_process_exits_propagate()


def _carry_request_id(headers: dict[str, Any] | None = None, **_kwargs: Any) -> None:
    request_id = context.get("request_id")
    if request_id and headers is not None and HEADER not in headers:
        headers[HEADER] = request_id


def _task_started(
    task_id: str,
    task: Any,
    args: tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
    **_: Any,
) -> None:
    transaction_id = _transaction_argument(task, args, kwargs or {})
    tokens = context.bind(
        task_id=task_id,
        task_name=task.name,
        transaction_id=transaction_id,
        request_id=_request_id_of(task.request),
    )
    _runs[task_id] = (time.perf_counter(), tokens)


def _task_finished(task_id: str, task: Any, **_: Any) -> None:
    started, tokens = _runs.pop(task_id, (None, {}))
    metrics.TASK_RUNS.labels(task.name).inc()
    if started is not None:
        metrics.TASK_DURATION.labels(task.name).observe(time.perf_counter() - started)
    with contextlib.suppress(ValueError):  # reset from another context: nothing to undo
        context.reset(tokens)


def _task_failed(sender: Any = None, **_: Any) -> None:
    metrics.TASK_FAILURES.labels(getattr(sender, "name", "unknown")).inc()


def _task_retried(sender: Any = None, **_: Any) -> None:
    metrics.TASK_RETRIES.labels(getattr(sender, "name", "unknown")).inc()


def _serve_worker_metrics(**_: Any) -> None:
    app = _state["flask_app"]
    port = int(app.config.get("WORKER_METRICS_PORT") or 0) if app is not None else 0
    if not port:
        return
    from prometheus_client import start_http_server

    # The worker's main process serves the samples its pool children write into
    # PROMETHEUS_MULTIPROC_DIR (or its own, without one).
    start_http_server(port, registry=metrics.process_registry())
    log.info("worker metrics on port %s", port)


def _pool_child_exits(pid: int | None = None, **_: Any) -> None:
    if metrics.multiprocess_dir():
        from prometheus_client import multiprocess

        # Type-check exemption: prometheus_client's multiprocess helpers are unannotated.
        multiprocess.mark_process_dead(pid or os.getpid())  # type: ignore[no-untyped-call]


def _request_id_of(request: Any) -> str | None:
    value = getattr(request, HEADER, None)
    if not value:
        value = (getattr(request, "headers", None) or {}).get(HEADER)
    return value or None


def _transaction_argument(task: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
    takes = _params.get(task.name)
    if takes is None:
        try:
            takes = "transaction_id" in inspect.signature(task.run).parameters
        except (TypeError, ValueError):
            takes = False
        _params[task.name] = takes
    if not takes:
        return None
    try:
        bound = inspect.signature(task.run).bind_partial(*args, **kwargs)
    except TypeError:
        return None
    value = bound.arguments.get("transaction_id")
    return str(value) if value is not None else None


# Connected once, at import (Celery holds strong references: weak=False).
signals.setup_logging.connect(_setup_logging, weak=False)
signals.before_task_publish.connect(_carry_request_id, weak=False)
signals.task_prerun.connect(_task_started, weak=False)
signals.task_postrun.connect(_task_finished, weak=False)
signals.task_failure.connect(_task_failed, weak=False)
signals.task_retry.connect(_task_retried, weak=False)
signals.worker_ready.connect(_serve_worker_metrics, weak=False)
signals.worker_process_shutdown.connect(_pool_child_exits, weak=False)
