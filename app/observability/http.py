"""Per-request observability: request id, log context, HTTP metrics, one log line.

The line also carries the first transaction transition the request committed
(``app.observability.transitions``): a purchase is one line, with its new
transaction's id and ``none -> pending``.

The request id comes from ``X-Request-ID`` when the client (or a proxy) sends a
sane one, otherwise it is made here; it is returned in the ``X-Request-ID``
response header and in every error envelope (``app.errors``), carried in the
log context, and sent with every Celery task this request enqueues.
"""

from __future__ import annotations

import contextlib
import logging
import time

from flask import Flask, Response
from prometheus_client import Counter, Histogram

from app.observability import context, metrics, transitions
from app.request_locals import current_request, request_globals

log = logging.getLogger("billing.http")
REQUEST_ID_HEADER = "X-Request-ID"
# Probes and scrapes are frequent and uninteresting: logged at DEBUG only.
QUIET_ENDPOINTS = frozenset({"/metrics", "/healthz", "/readyz"})
PUBLISH_ENDPOINT = "events.publish"
EDIT_ENDPOINT = "events.patch_event"


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)
    app.teardown_request(_clear)
    app.add_url_rule("/metrics", "metrics", _metrics_view)


def _start() -> None:
    started = time.perf_counter()
    req, state = current_request(), request_globals()
    request_id = context.accept_request_id(req.headers.get(REQUEST_ID_HEADER))
    view_args = req.view_args
    transaction_id = (view_args and view_args.get("transaction_id")) or req.args.get(
        "transaction_id"
    )
    state.request_started = started
    state.request_id = request_id
    state.log_context = context.bind(request_id=request_id, transaction_id=transaction_id)


# (route template, method, status) -> the two metric children it updates. prometheus
# labels() validates and locks on every call; the label sets of one process are few
# (route templates, not paths) and each child lives as long as its metric.
_CHILDREN: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}


def _observe(endpoint: str, method: str, status: str, elapsed: float) -> None:
    key = (endpoint, method, status)
    children = _CHILDREN.get(key)
    if children is None:
        children = (
            metrics.HTTP_REQUESTS.labels(endpoint, method, status),
            metrics.HTTP_LATENCY.labels(endpoint, method),
        )
        _CHILDREN[key] = children
    children[0].inc()
    children[1].observe(elapsed)


def _finish(response: Response) -> Response:
    finished = time.perf_counter()
    state = request_globals()
    request_id = state.get("request_id")
    if request_id is None:  # a failure before _start ran
        return response
    response.headers[REQUEST_ID_HEADER] = request_id
    req = current_request()
    rule = req.url_rule
    endpoint = rule.rule if rule is not None else "unmatched"
    method = req.method
    path = req.path
    elapsed = finished - state.get("request_started", finished)
    status_code = response.status_code
    status = str(status_code)
    _observe(endpoint, method, status, elapsed)
    if req.endpoint == PUBLISH_ENDPOINT:
        metrics.PUBLISH_OUTCOMES.labels(status, state.get("error_code") or "OK").inc()
    elif req.endpoint == EDIT_ENDPOINT:
        metrics.EDIT_OUTCOMES.labels(status, state.get("error_code") or "OK").inc()
    extra: dict[str, object] = {
        "http_method": method,
        "path": path,
        "endpoint": endpoint,
        "status": status_code,
        "duration_ms": round(elapsed * 1000, 2),
    }
    level = logging.DEBUG if endpoint in QUIET_ENDPOINTS else logging.INFO
    carried = transitions.take_carried()
    if carried is None or not log.isEnabledFor(level):
        log.log(level, "%s %s %s", method, path, status, extra=extra)
        if carried is not None:  # this line is not written: the transition's own is
            transitions.log_transition(carried)
        return response
    extra.update(carried)
    log.log(
        level,
        "%s %s %s; transaction %s: %s -> %s (%s)",
        method,
        path,
        status,
        carried["transaction_id"],
        carried["from_status"] or "none",
        carried["to_status"],
        carried["source"],
        extra=extra,
    )
    return response


def _clear(_exc: BaseException | None) -> None:
    # Before the context goes: the transition's own line carries the request id.
    transitions.log_uncarried()
    tokens = request_globals().pop("log_context", None)
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
