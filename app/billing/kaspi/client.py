"""The billing service's client for Kaspi's QR/payment-link API (or the Kaspi stub).

It needs no Flask app context: build it from a base URL and an Api-Key (see
``KaspiClient.from_config``). Callers see two kinds of failure:

- ``ProviderUnavailable``: timeouts, connection errors, 5xx, StatusCode -999.
  Nothing is known about the outcome of a read; retrying later is safe.
  Its subclass ``RefundOutcomeUnknown`` is raised by ``refund`` when the request may
  have reached Kaspi: the refund may or may not have happened, so it must be
  checked (``get_status(...).refunded_amount`` or Kaspi's cabinet) before retrying.
- ``ProviderRejected``: a definite negative answer (validation, refund refused...).

Money is never a float: amounts go out as JSON numbers written from the Decimal's
exact text and come back through ``json.loads(..., parse_float=Decimal)``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote

import urllib3
from urllib3.exceptions import ConnectTimeoutError, HTTPError, MaxRetryError, NewConnectionError
from urllib3.util.retry import Retry

from app.observability import metrics

log = logging.getLogger(__name__)

CENT = Decimal("0.01")
OK = 0
INTERNAL_ERROR = -999
PURCHASE_NOT_FOUND = -1601
# Only these two answers are final; Wait, QrTokenCreated, RemotePaymentCreated and any
# status Kaspi adds later mean the buyer may still pay ("wait").
STATES = {"Processed": "processed", "Error": "error"}
# 429 and 5xx mean "not now"; everything else is an answer.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class CreatedPayment:
    payment_id: str
    payment_url: str
    expires_at: datetime
    poll_interval_s: int


@dataclass(frozen=True)
class PaymentStatus:
    state: str  # "wait" | "processed" | "error" | "not_found"
    provider_status: str  # raw Kaspi Status ("Wait"...) or the error StatusCode ("-1601")
    amount: Decimal | None
    provider_transaction_id: str | None
    expires_at: datetime | None
    refunded_amount: Decimal | None = None  # when the provider reports it (the stub does)
    external_id: str | None = None  # our id for the payment, when the provider reports it
    payment_id: str | None = None  # the payment the answer is about, when reported
    currency: str | None = None  # when reported; Kaspi pays in KZT only


class ProviderError(Exception):
    """Base of every failure talking to the payment provider."""


class ProviderUnavailable(ProviderError):
    """No usable answer (timeout, connection error, 5xx, -999); retryable."""


class RefundOutcomeUnknown(ProviderUnavailable):
    """A refund request may have reached the provider but no answer came back."""


class ProviderRejected(ProviderError):
    """A definite negative answer from the provider."""

    def __init__(self, status_code: int, message: str, http_status: int | None = None) -> None:
        super().__init__(f"Kaspi rejected the request ({status_code}): {message}")
        self.status_code = status_code
        self.message = message
        self.http_status = http_status


@runtime_checkable
class PaymentProvider(Protocol):
    def create_payment(self, external_id: str, amount: Decimal) -> CreatedPayment: ...

    def get_status(self, payment_id: str) -> PaymentStatus: ...

    def refund(self, payment_id: str, amount: Decimal) -> str: ...


def exact_amount(amount: Decimal) -> Decimal:
    """A positive Decimal with at most two decimals, quantized to cents; else ValueError."""
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise ValueError(f"amount must be a positive Decimal, got {amount!r}")
    try:
        cents = amount.quantize(CENT)
    except InvalidOperation:
        raise ValueError(f"amount out of range: {amount!r}") from None
    if cents != amount:
        raise ValueError(f"amount has more than 2 decimals: {amount!r}")
    return cents


def encode_body(fields: Mapping[str, Any]) -> bytes:
    """A flat JSON object in which a Decimal is written as a number with its exact digits."""
    parts = []
    for key, value in fields.items():
        text = format(value, "f") if isinstance(value, Decimal) else json.dumps(value)
        parts.append(f"{json.dumps(key)}: {text}")
    return ("{" + ", ".join(parts) + "}").encode()


def parse_datetime(value: Any) -> datetime:
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _surely_not_sent(exc: Exception) -> bool:
    """True when the connection was never established, so the request never left us."""
    reason = exc.reason if isinstance(exc, MaxRetryError) else exc
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


# Connections kept per host: enough for every thread of a settle batch or a
# gunicorn worker's threads; a burst beyond it opens (and then drops) extra ones.
POOL_MAXSIZE = 16


class KaspiClient:
    """``PaymentProvider`` over HTTP, with bounded retries where they are safe."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        connect_timeout_s: float = 3.05,
        read_timeout_s: float = 5.0,
        retries: int = 2,
        backoff_factor: float = 0.2,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = urllib3.Timeout(connect=connect_timeout_s, read=read_timeout_s)
        # Retry-After is ignored so one call's duration stays bounded by
        # (1 + retries) * timeout + backoff, whatever the provider asks for.
        common: dict[str, Any] = {
            "backoff_factor": backoff_factor,
            "raise_on_status": False,
            "respect_retry_after_header": False,
        }
        # Status reads and create-link (idempotent by ExternalId: a repeat returns the
        # same payment) may be retried after any failure, including a read timeout.
        self._retry_idempotent = Retry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            other=0,
            allowed_methods=frozenset({"GET", "POST"}),
            status_forcelist=RETRY_STATUSES,
            **common,
        )
        # Refunds carry no idempotency key: after a read timeout or a 5xx the first
        # attempt may have refunded already, and a blind repeat could refund twice.
        # Only connection failures (the request never left) are retried; read=False
        # re-raises a read error at once, and no status is in a forcelist.
        self._retry_once = Retry(
            total=retries, connect=retries, read=False, status=0, other=0, **common
        )
        self._headers = {
            "Api-Key": api_key,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        # urllib3 directly, not requests: a status call costs a third of the CPU
        # (no per-call netrc, proxy and certificate-path lookups), and the settle
        # path makes one per transaction. The pool is thread-safe; a forked
        # process (a Celery child) builds its own instead of sharing sockets.
        self._lock = threading.Lock()
        self._pool: urllib3.PoolManager | None = None
        self._pool_pid = 0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> KaspiClient:
        """Build from a mapping such as Flask's ``app.config``."""
        return cls(
            config["KASPI_BASE_URL"],
            config["KASPI_API_KEY"],
            connect_timeout_s=float(config.get("KASPI_CONNECT_TIMEOUT_S", 3.05)),
            read_timeout_s=float(config.get("KASPI_TIMEOUT_S", 5.0)),
            retries=int(config.get("KASPI_RETRIES", 2)),
        )

    # -- the PaymentProvider API -------------------------------------------

    def create_payment(self, external_id: str, amount: Decimal) -> CreatedPayment:
        body = encode_body({"Amount": exact_amount(amount), "ExternalId": external_id})
        data = self._call("POST", "/r3/v01/qr/create-link", body, idempotent=True)
        try:
            options = data.get("PaymentBehaviorOptions") or {}
            return CreatedPayment(
                payment_id=str(data["PaymentId"]),
                payment_url=str(data["PaymentLink"]),
                expires_at=parse_datetime(data["ExpireDate"]),
                poll_interval_s=int(options.get("StatusPollingInterval", 5)),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ProviderUnavailable(f"malformed create-link answer: {exc!r}") from exc

    def get_status(self, payment_id: str) -> PaymentStatus:
        path = f"/r3/v01/payment/status/{quote(str(payment_id), safe='')}"
        try:
            data = self._call("GET", path, None, idempotent=True)
        except ProviderRejected as exc:
            if exc.status_code != PURCHASE_NOT_FOUND:
                raise
            return PaymentStatus("not_found", str(exc.status_code), None, None, None)
        raw = data.get("Status")
        if not isinstance(raw, str) or not raw:
            raise ProviderUnavailable(f"status answer without a Status: {raw!r}")
        try:
            transaction_id = data.get("TransactionId")
            external_id = data.get("ExternalId")
            answered_id = data.get("PaymentId")
            currency = data.get("Currency")
            return PaymentStatus(
                state=STATES.get(raw, "wait"),
                provider_status=raw[:64],  # the audit column holds 64
                amount=_decimal_or_none(data.get("Amount")),
                provider_transaction_id=None if transaction_id is None else str(transaction_id),
                expires_at=parse_datetime(data["ExpireDate"]) if data.get("ExpireDate") else None,
                refunded_amount=_decimal_or_none(data.get("RefundedAmount")),
                external_id=None if external_id is None else str(external_id),
                payment_id=None if answered_id is None else str(answered_id),
                currency=None if currency is None else str(currency),
            )
        except (TypeError, ValueError, InvalidOperation) as exc:
            raise ProviderUnavailable(f"malformed status answer: {exc!r}") from exc

    def refund(self, payment_id: str, amount: Decimal) -> str:
        """Return ``amount`` of a Processed payment; answers Kaspi's ReturnOperationId."""
        text = str(payment_id)
        qr_payment_id: int | str = int(text) if text.isascii() and text.isdigit() else text
        body = encode_body({"QrPaymentId": qr_payment_id, "Amount": exact_amount(amount)})
        data = self._call("POST", "/r3/v01/payment/return", body, idempotent=False)
        operation_id = data.get("ReturnOperationId")
        if operation_id is None:
            raise RefundOutcomeUnknown("refund answer without ReturnOperationId")
        return str(operation_id)

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.clear()
            self._pool = None

    # -- HTTP --------------------------------------------------------------

    def _connections(self) -> urllib3.PoolManager:
        pool = self._pool
        if pool is not None and self._pool_pid == os.getpid():
            return pool
        with self._lock:
            if self._pool is None or self._pool_pid != os.getpid():
                self._pool = urllib3.PoolManager(maxsize=POOL_MAXSIZE)
                self._pool_pid = os.getpid()
            return self._pool

    def _call(
        self, method: str, path: str, body: bytes | None, *, idempotent: bool
    ) -> dict[str, Any]:
        """``_request``, counted and timed per endpoint and outcome."""
        endpoint = _endpoint_label(path)
        outcome = "error"
        started = time.perf_counter()
        try:
            data = self._request(method, path, body, idempotent=idempotent)
            outcome = "ok"
            return data
        except ProviderRejected:
            outcome = "rejected"
            raise
        except ProviderUnavailable:
            outcome = "unavailable"
            raise
        finally:
            metrics.KASPI_REQUESTS.labels(endpoint, outcome).inc()
            metrics.KASPI_LATENCY.labels(endpoint).observe(time.perf_counter() - started)

    def _request(
        self, method: str, path: str, body: bytes | None, *, idempotent: bool
    ) -> dict[str, Any]:
        # For a refund, "no answer" after the request may have been sent is not
        # "nothing happened": it is reported as RefundOutcomeUnknown.
        unknown = ProviderUnavailable if idempotent else RefundOutcomeUnknown
        try:
            response = self._connections().request(
                method,
                self.base_url + path,
                body=body,
                headers=self._headers,
                timeout=self.timeout,
                retries=self._retry_idempotent if idempotent else self._retry_once,
            )
        except (HTTPError, OSError) as exc:
            log.warning("kaspi %s %s failed: %r", method, path, exc)
            if idempotent or _surely_not_sent(exc):
                raise ProviderUnavailable(f"Kaspi unreachable: {exc}") from exc
            raise RefundOutcomeUnknown(f"no answer to the refund: {exc}") from exc
        status = response.status
        envelope = _decode_envelope(response.data)
        if envelope is None:
            raise unknown(f"Kaspi answered HTTP {status} without an envelope")
        code, message, data = envelope
        if code == INTERNAL_ERROR:
            # Kaspi's "service temporarily unavailable": the call was not carried out.
            raise ProviderUnavailable(f"Kaspi unavailable ({code}): {message}")
        if status in RETRY_STATUSES:
            raise unknown(f"Kaspi answered HTTP {status} ({code}): {message}")
        if code != OK:
            raise ProviderRejected(code, message, status)
        if status >= 400:
            raise unknown(f"Kaspi answered HTTP {status} with StatusCode 0")
        return data


# Metric labels: the endpoint without its ids.
_ENDPOINTS = (
    ("/r3/v01/qr/create-link", "create-link"),
    ("/r3/v01/payment/status/", "payment-status"),
    ("/r3/v01/payment/return", "payment-return"),
)


def _endpoint_label(path: str) -> str:
    return next((label for prefix, label in _ENDPOINTS if path.startswith(prefix)), "other")


def _decode_envelope(content: bytes) -> tuple[int, str, dict[str, Any]] | None:
    try:
        payload = json.loads(content, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict):
        return None
    code = payload.get("StatusCode")
    data = payload.get("Data") or {}
    if isinstance(code, bool) or not isinstance(code, int) or not isinstance(data, dict):
        return None
    return code, str(payload.get("Message") or ""), data


def _decimal_or_none(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise ValueError(f"not an amount: {value!r}")
    return Decimal(value)
