"""Per-request observability: request id, log context, HTTP metrics, one log line.

The request id comes from ``X-Request-ID`` when the client (or a proxy) sends a
sane one, otherwise it is made here; it is returned in the ``X-Request-ID``
response header and in every error envelope (``app.errors``), carried in the
log context, and sent with every Celery task this request enqueues.
"""

from __future__ import annotations

import contextlib
import logging
import time

from flask import Flask, Response, g, request

from app.observability import context, metrics

log = logging.getLogger("billing.http")
REQUEST_ID_HEADER = "X-Request-ID"
# Probes and scrapes are frequent and uninteresting: logged at DEBUG only.
QUIET_ENDPOINTS = frozenset({"/metrics", "/healthz", "/readyz"})
PUBLISH_ENDPOINT = "events.publish"


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)
    app.teardown_request(_clear)
    app.add_url_rule("/metrics", "metrics", _metrics_view)


def _start() -> None:
    g.request_started = time.perf_counter()
    g.request_id = context.accept_request_id(request.headers.get(REQUEST_ID_HEADER))
    view_args = request.view_args or {}
    transaction_id = view_args.get("transaction_id") or request.args.get("transaction_id")
    g.log_context = context.bind(request_id=g.request_id, transaction_id=transaction_id)


def _finish(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id is None:  # a failure before _start ran
        return response
    response.headers[REQUEST_ID_HEADER] = request_id
    endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"
    elapsed = time.perf_counter() - g.get("request_started", time.perf_counter())
    status = str(response.status_code)
    metrics.HTTP_REQUESTS.labels(endpoint, request.method, status).inc()
    metrics.HTTP_LATENCY.labels(endpoint, request.method).observe(elapsed)
    if request.endpoint == PUBLISH_ENDPOINT:
        metrics.PUBLISH_OUTCOMES.labels(status, g.get("error_code") or "OK").inc()
    log.log(
        logging.DEBUG if endpoint in QUIET_ENDPOINTS else logging.INFO,
        "%s %s %s",
        request.method,
        request.path,
        status,
        extra={
            "http_method": request.method,
            "path": request.path,
            "endpoint": endpoint,
            "status": response.status_code,
            "duration_ms": round(elapsed * 1000, 2),
        },
    )
    return response


def _clear(_exc: BaseException | None) -> None:
    tokens = g.pop("log_context", None)
    if tokens:
        # Teardown in another context than the request's start (a streamed
        # response finishing late): the values die with that context anyway.
        with contextlib.suppress(ValueError):
            context.reset(tokens)


def _metrics_view() -> Response:
    from flask import current_app

    # Type-check exemption: Flask's type of current_app lacks the proxy's _get_current_object.
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    body, content_type = metrics.exposition(app)
    return Response(body, content_type=content_type)
