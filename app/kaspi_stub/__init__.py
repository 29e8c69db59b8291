"""Kaspi stub: a small separate WSGI service imitating Kaspi's QR/payment-link API.

Run it with ``gunicorn 'app.kaspi_stub:create_app()'``. It shares no code with
the billing app (which talks to it only over HTTP), keeps its state in one
SQLite file so several worker processes and restarts see the same payments, and
answers every failure with Kaspi's envelope, never a stack trace.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from app.kaspi_stub import api, buyer, context, faults
from app.kaspi_stub import envelope as env
from app.kaspi_stub.store import Refused, init_db

log = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    "KASPI_STUB_DB": "var/kaspi_stub.sqlite3",
    "KASPI_STUB_API_KEY": "dev-kaspi-key",
    "KASPI_STUB_PAYMENT_TTL_S": 3600,
    "KASPI_STUB_PUBLIC_URL": "",  # empty: links use the host the request came to
    "KASPI_STUB_POLL_INTERVAL_S": 5,
    "KASPI_STUB_MERCHANT_NAME": "Events Platform",
}
INT_SETTINGS = ("KASPI_STUB_PAYMENT_TTL_S", "KASPI_STUB_POLL_INTERVAL_S")

HTTP_STATUS_CODES = {
    404: env.ROUTE_NOT_FOUND,
    405: env.METHOD_NOT_ALLOWED,
    413: env.PAYLOAD_TOO_LARGE,
}


def load_settings(config: dict[str, Any] | None) -> dict[str, Any]:
    """Defaults, then the environment, then ``config`` (tests pass a dict)."""
    settings = dict(DEFAULTS)
    for key in DEFAULTS:
        if os.environ.get(key):
            settings[key] = os.environ[key]
    settings.update(config or {})
    for key in INT_SETTINGS:
        settings[key] = int(settings[key])
        if settings[key] <= 0:
            raise ValueError(f"{key} must be a positive integer")
    return settings


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(env.StubError)
    def stub_error(error: env.StubError) -> Response:
        return env.error_envelope(error)

    @app.errorhandler(Refused)
    def refused(error: Refused) -> Response:
        return env.error_envelope(env.from_refusal(error))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        fallback = env.VALIDATION if status < 500 else env.INTERNAL
        code = HTTP_STATUS_CODES.get(status, fallback)
        return env.envelope(None, code, error.name, status)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        log.exception("kaspi stub: unhandled error")
        return env.envelope(None, env.INTERNAL, "Internal error", 500)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(load_settings(config))
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    init_db(app.config["KASPI_STUB_DB"])

    faults.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(buyer.bp)
    register_error_handlers(app)

    @app.get("/healthz")
    def healthz() -> Response:
        context.get_store().conn.execute("SELECT 1").fetchone()
        return env.envelope({"status": "ok"})

    @app.after_request
    def tag_worker(response: Response) -> Response:
        # Lets tests prove that two answers came from two worker processes.
        response.headers["X-Stub-Pid"] = str(os.getpid())
        return response

    return app
