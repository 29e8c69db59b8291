"""One error envelope for every failure: ``{"error": {"code", "message", ...}}``."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import Flask, Response, g, has_request_context, jsonify
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

from app import domain_errors as de

log = logging.getLogger(__name__)

# Werkzeug's status codes mapped to stable machine-readable codes.
HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "UNPROCESSABLE",
    429: "TOO_MANY_REQUESTS",
}
# Seconds a client should wait after a 503 caused by the database.
DB_RETRY_AFTER_S = "1"


class ApiError(Exception):
    """An expected failure with an HTTP status, a code and optional extra fields."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, **self.extra}}


# Each kind of domain failure and the HTTP status it answers.
DOMAIN_STATUS: dict[type[de.DomainError], int] = {
    de.InvalidRequest: 400,
    de.Unauthenticated: 401,
    de.PaymentRequired: 402,
    de.Forbidden: 403,
    de.NotFound: 404,
    de.Conflict: 409,
    de.Unprocessable: 422,
    de.Unavailable: 503,
}


def from_domain(err: de.DomainError) -> ApiError:
    status = next(code for kind, code in DOMAIN_STATUS.items() if isinstance(err, kind))
    headers = {}
    if err.retry_after_s is not None:
        headers["Retry-After"] = str(err.retry_after_s)
    if isinstance(err, de.Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    return ApiError(status, err.code, err.message, headers=headers, **err.extra)


def uuid_or_404(raw: str, code: str, message: str) -> uuid.UUID:
    """A path id that is not a UUID names nothing: the resource's own 404, never a 500."""
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise de.NotFound(code, message) from None


def validation_error(details: list[dict[str, Any]], message: str = "Invalid request") -> ApiError:
    return ApiError(400, "VALIDATION_ERROR", message, details=details)


def error_response(err: ApiError) -> Response:
    body = err.body()
    if has_request_context():
        # The same id as the X-Request-ID header and every log line of this request.
        request_id = g.get("request_id")
        if request_id:
            body["error"]["request_id"] = request_id
        g.error_code = err.code
    response = jsonify(body)
    response.status_code = err.status
    for name, value in err.headers.items():
        response.headers[name] = value
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(err: ApiError) -> Response:
        return error_response(err)

    @app.errorhandler(de.DomainError)
    def _domain_error(err: de.DomainError) -> Response:
        return error_response(from_domain(err))

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException) -> Response:
        status = err.code or 500
        code = HTTP_CODES.get(status, "HTTP_ERROR")
        response = error_response(ApiError(status, code, err.description or err.name))
        if status == 405 and err.get_response().headers.get("Allow"):
            response.headers["Allow"] = err.get_response().headers["Allow"]
        return response

    @app.errorhandler(sa_exc.DBAPIError)
    def _database_error(err: sa_exc.DBAPIError) -> Response:
        if not database_unavailable(err):
            return _unexpected(err)
        # The connection died under the request (killed backend, failover, restart):
        # SQLAlchemy has already invalidated it, so the next request gets a fresh one.
        log.warning("database unavailable: %s", err.orig.__class__.__name__ if err.orig else err)
        return service_unavailable()

    @app.errorhandler(sa_exc.TimeoutError)
    def _pool_exhausted(err: sa_exc.TimeoutError) -> Response:
        log.warning("database connection pool exhausted")
        return service_unavailable()

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> Response:
        # Logged with the traceback for operators; the client sees no internals.
        log.exception("unhandled error")
        return error_response(ApiError(500, "INTERNAL_ERROR", "Internal server error"))


def database_unavailable(err: sa_exc.DBAPIError) -> bool:
    """Whether a database error means "not now" rather than a bug.

    A lost connection (``connection_invalidated``), an operational failure
    (server shutting down, backend terminated, cannot connect) and an interface
    error on a closed connection are all outages a retry can get past.
    """
    return err.connection_invalidated or isinstance(
        err, sa_exc.OperationalError | sa_exc.InterfaceError
    )


def service_unavailable() -> Response:
    return error_response(
        ApiError(
            503,
            "SERVICE_UNAVAILABLE",
            "The service is briefly unavailable; retry shortly",
            headers={"Retry-After": DB_RETRY_AFTER_S},
        )
    )
