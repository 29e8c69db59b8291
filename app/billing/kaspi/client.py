"""The billing service's client for Kaspi's QR/payment-link API (or the Kaspi stub).

It needs no Flask app context: build it from a base URL and an Api-Key (see
``KaspiClient.from_config``). Callers see two kinds of failure:

- ``ProviderUnavailable``: timeouts, connection errors, 5xx, StatusCode -999.
  Nothing is known about the outcome of a read; retrying later is safe.
  Its subclass ``RefundOutcomeUnknown`` is raised by ``refund`` when the request may
  have reached Kaspi: the refund may or may not have happened, so it must be
  checked (``get_status(...).refunded_amount`` or Kaspi's cabinet) before retrying.
- ``ProviderRejected``: a definite negative answer (validation, refund refused...).

Every call has one time budget, retries included (``create_budget_s`` for the
buyer's create-link, ``status_budget_s`` and ``refund_budget_s`` for the others).
Each attempt may wait for its answer until the budget ends: an answer that is slow
but coming is worth more than a fresh attempt. Only fast failures (the connection
refused, 5xx, -999) are tried again, after a backoff that fits in what is left.

Money is never a float: amounts go out as JSON numbers written from the Decimal's
exact text and come back through ``json.loads(..., parse_float=Decimal)``.
"""

from __future__ import annotations

import json
import logging
import math
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
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ReadTimeoutError,
)

from app.money import NotCents, Wrong, exact_cents
from app.observability import metrics

log = logging.getLogger(__name__)

OK = 0
INTERNAL_ERROR = -999
PURCHASE_NOT_FOUND = -1601
# Only these two answers are final; Wait, QrTokenCreated, RemotePaymentCreated and any
# status Kaspi adds later mean the buyer may still pay ("wait").
STATES = {
    "Processed": "processed",
    "Error": "error",
    # A remote payment (an invoice to a phone) the buyer rejected or we canceled: no money.
    # RemotePaymentCreated, Expired and anything unknown stay pending ("wait").
    "RemotePaymentRejected": "error",
    "RemotePaymentCanceled": "error",
}
# 429 and 5xx mean "not now"; everything else is an answer.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Backoff between attempts doubles from the client's factor up to this; a pause that
# would not leave time for another attempt is not taken (the call fails at once).
BACKOFF_MAX_S = 2.0


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

    def create_remote_payment(
        self, external_id: str, amount: Decimal, phone: str
    ) -> CreatedPayment: ...

    def get_status(self, payment_id: str) -> PaymentStatus: ...

    def cancel_payment(self, payment_id: str) -> PaymentStatus: ...

    def refund(self, payment_id: str, amount: Decimal) -> str: ...


def exact_amount(amount: Decimal) -> Decimal:
    """A positive Decimal with at most two decimals, quantized to cents; else ValueError."""
    if not isinstance(amount, Decimal):
        raise ValueError(f"amount must be a positive Decimal, got {amount!r}")
    try:
        return exact_cents(amount)
    except NotCents as exc:
        if exc.wrong == Wrong.TOO_PRECISE:
            raise ValueError(f"amount has more than 2 decimals: {amount!r}") from None
        if exc.wrong == Wrong.OUT_OF_RANGE:
            raise ValueError(f"amount out of range: {amount!r}") from None
        raise ValueError(f"amount must be a positive Decimal, got {amount!r}") from None


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


class _FastFailure(Exception):
    """An attempt failed in a way a repeat may fix; ``error`` is raised if none follows."""

    def __init__(self, error: ProviderError) -> None:
        super().__init__(str(error))
        self.error = error


def _budget(name: str, value: float) -> float:
    seconds = float(value)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    return seconds


def _surely_not_sent(exc: Exception) -> bool:
    """True when the connection was never established, so the request never left us."""
    reason = exc.reason if isinstance(exc, MaxRetryError) else exc
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


# Connections kept per host: enough for every thread of a settle batch or a
# gunicorn worker's threads; a burst beyond it opens (and then drops) extra ones.
POOL_MAXSIZE = 16


class KaspiClient:
    """``PaymentProvider`` over HTTP; each call keeps to its time budget, retries included."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        connect_timeout_s: float = 3.05,
        create_budget_s: float = 10.0,
        status_budget_s: float = 5.0,
        refund_budget_s: float = 5.0,
        retries: int | None = None,
        backoff_factor: float = 0.2,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.connect_timeout_s = _budget("connect_timeout_s", connect_timeout_s)
        self.create_budget_s = _budget("create_budget_s", create_budget_s)
        self.status_budget_s = _budget("status_budget_s", status_budget_s)
        self.refund_budget_s = _budget("refund_budget_s", refund_budget_s)
        # None: as many retries as the budget leaves room for; a number caps them too.
        self.retries = retries
        self.backoff_factor = max(0.0, float(backoff_factor))
        self._headers = {
            "Api-Key": api_key,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        # urllib3 directly, not requests: a status call costs far less CPU (no
        # per-call netrc, proxy and certificate-path lookups; docs/PERFORMANCE.md,
        # "Figures behind the code's design choices"), and the settle
        # path makes one per transaction. The pool is thread-safe; a forked
        # process (a Celery child) builds its own instead of sharing sockets.
        self._lock = threading.Lock()
        self._pool: urllib3.PoolManager | None = None
        self._pool_pid = 0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> KaspiClient:
        """Build from a mapping such as Flask's ``app.config``.

        KASPI_CALL_BUDGET_S bounds the buyer's create-link; KASPI_TIMEOUT_S bounds a
        status read or a refund (the poller builds its client with KASPI_TIMEOUT_S
        replaced by its shorter KASPI_POLL_TIMEOUT_S).
        """
        retries = config.get("KASPI_RETRIES")
        other_budget = float(config.get("KASPI_TIMEOUT_S", 5.0))
        return cls(
            config["KASPI_BASE_URL"],
            config["KASPI_API_KEY"],
            connect_timeout_s=float(config.get("KASPI_CONNECT_TIMEOUT_S", 3.05)),
            create_budget_s=float(config.get("KASPI_CALL_BUDGET_S", 10.0)),
            status_budget_s=other_budget,
            refund_budget_s=other_budget,
            retries=None if retries is None else int(retries),
        )

    # -- the PaymentProvider API -------------------------------------------

    def create_payment(self, external_id: str, amount: Decimal) -> CreatedPayment:
        body = encode_body({"Amount": exact_amount(amount), "ExternalId": external_id})
        data = self._call(
            "POST", "/r3/v01/qr/create-link", body, idempotent=True, budget_s=self.create_budget_s
        )
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

    def create_remote_payment(
        self, external_id: str, amount: Decimal, phone: str
    ) -> CreatedPayment:
        """An invoice pushed to ``phone`` (digits, 7XXXXXXXXXX) in the Kaspi app: the
        enhanced API's ``remote/create``; idempotent on ExternalId like create-link."""
        body = encode_body(
            {"Amount": exact_amount(amount), "ExternalId": external_id, "PhoneNumber": phone}
        )
        data = self._call(
            "POST", "/r3/v01/remote/create", body, idempotent=True, budget_s=self.create_budget_s
        )
        try:
            options = data.get("PaymentBehaviorOptions") or {}
            return CreatedPayment(
                payment_id=str(data["PaymentId"]),
                # Real Kaspi sends no link for an invoice: the buyer answers in the app.
                payment_url=str(data.get("PaymentLink") or ""),
                expires_at=parse_datetime(data["ExpireDate"]),
                poll_interval_s=int(options.get("StatusPollingInterval", 5)),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ProviderUnavailable(f"malformed remote/create answer: {exc!r}") from exc

    def get_status(self, payment_id: str) -> PaymentStatus:
        path = f"/r3/v01/payment/status/{quote(str(payment_id), safe='')}"
        try:
            data = self._call("GET", path, None, idempotent=True, budget_s=self.status_budget_s)
        except ProviderRejected as exc:
            if exc.status_code != PURCHASE_NOT_FOUND:
                raise
            return PaymentStatus("not_found", str(exc.status_code), None, None, None)
        return _status_from(data)

    def cancel_payment(self, payment_id: str) -> PaymentStatus:
        """Close an unpaid payment so its link can no longer be paid; answers its status.

        Safe to repeat (closing a closed payment answers it again). A payment already
        paid is refused (``ProviderRejected``, -1603): the caller asks its status and
        settles it. A provider without the call refuses too; nothing is closed then.
        """
        text = str(payment_id)
        qr_payment_id: int | str = int(text) if text.isascii() and text.isdigit() else text
        body = encode_body({"QrPaymentId": qr_payment_id})
        data = self._call(
            "POST", "/r3/v01/payment/cancel", body, idempotent=True, budget_s=self.status_budget_s
        )
        return _status_from(data)

    def refund(self, payment_id: str, amount: Decimal) -> str:
        """Return ``amount`` of a Processed payment; answers Kaspi's ReturnOperationId."""
        text = str(payment_id)
        qr_payment_id: int | str = int(text) if text.isascii() and text.isdigit() else text
        body = encode_body({"QrPaymentId": qr_payment_id, "Amount": exact_amount(amount)})
        data = self._call(
            "POST", "/r3/v01/payment/return", body, idempotent=False, budget_s=self.refund_budget_s
        )
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
        self, method: str, path: str, body: bytes | None, *, idempotent: bool, budget_s: float
    ) -> dict[str, Any]:
        """``_request``, counted and timed per endpoint and outcome."""
        endpoint = _endpoint_label(path)
        outcome = "error"
        started = time.perf_counter()
        try:
            data = self._request(method, path, body, idempotent=idempotent, budget_s=budget_s)
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
        self, method: str, path: str, body: bytes | None, *, idempotent: bool, budget_s: float
    ) -> dict[str, Any]:
        """Attempts until an answer, a failure a repeat cannot fix, or the budget's end.

        Each attempt may use all that is left of the budget, so a slow answer is
        waited for rather than abandoned; a timed-out attempt leaves nothing to retry
        with, so only failures that come back early are tried again.
        """
        deadline = time.monotonic() + budget_s
        failures = 0
        while True:
            try:
                return self._attempt(
                    method, path, body, idempotent=idempotent, left_s=deadline - time.monotonic()
                )
            except _FastFailure as failed:
                failures += 1
                pause = min(self.backoff_factor * 2 ** (failures - 1), BACKOFF_MAX_S)
                capped = self.retries is not None and failures > self.retries
                if capped or pause >= deadline - time.monotonic():
                    raise failed.error from failed.__cause__
                log.info("kaspi %s %s: %s; trying again in %.2f s", method, path, failed, pause)
                time.sleep(pause)

    def _attempt(
        self, method: str, path: str, body: bytes | None, *, idempotent: bool, left_s: float
    ) -> dict[str, Any]:
        """One request within ``left_s`` seconds; ``_FastFailure`` when a repeat may help."""
        if left_s <= 0:
            raise ProviderUnavailable("Kaspi did not answer within the call's budget")
        timeout = urllib3.Timeout(connect=min(self.connect_timeout_s, left_s), read=left_s)
        try:
            response = self._connections().request(
                method,
                self.base_url + path,
                body=body,
                headers=self._headers,
                timeout=timeout,
                retries=False,
            )
        except (HTTPError, OSError) as exc:
            log.warning("kaspi %s %s failed: %r", method, path, exc)
            raise _unreachable(exc, idempotent=idempotent) from exc
        return _answer(response.status, response.data, idempotent=idempotent)


def _status_from(data: dict[str, Any]) -> PaymentStatus:
    """A status answer's Data (the status and cancel calls answer the same shape)."""
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


def _unreachable(exc: Exception, *, idempotent: bool) -> Exception:
    """What a failed request means: a repeat is safe unless a refund may have been sent."""
    if _surely_not_sent(exc):
        return _FastFailure(ProviderUnavailable(f"Kaspi unreachable: {exc}"))
    if not idempotent:
        # For a refund, "no answer" after the request may have been sent is not
        # "nothing happened": it is reported as RefundOutcomeUnknown, never repeated.
        return RefundOutcomeUnknown(f"no answer to the refund: {exc}")
    error = ProviderUnavailable(f"Kaspi unreachable: {exc}")
    # A read timeout used the rest of the budget; other breaks came back early.
    return error if isinstance(exc, ReadTimeoutError) else _FastFailure(error)


def _answer(status: int, content: bytes, *, idempotent: bool) -> dict[str, Any]:
    """The answer's Data, or the error it means (``_FastFailure`` if worth repeating)."""
    unknown = ProviderUnavailable if idempotent else RefundOutcomeUnknown
    envelope = _decode_envelope(content)
    error: ProviderError
    if envelope is None:
        error = unknown(f"Kaspi answered HTTP {status} without an envelope")
    else:
        code, message, data = envelope
        if code == INTERNAL_ERROR:
            # Kaspi's "service temporarily unavailable": the call was not carried out.
            error = ProviderUnavailable(f"Kaspi unavailable ({code}): {message}")
        elif status in RETRY_STATUSES:
            error = unknown(f"Kaspi answered HTTP {status} ({code}): {message}")
        elif code != OK:
            raise ProviderRejected(code, message, status)
        elif status >= 400:
            error = unknown(f"Kaspi answered HTTP {status} with StatusCode 0")
        else:
            return data
    not_now = status in RETRY_STATUSES or (envelope is not None and envelope[0] == INTERNAL_ERROR)
    # A refund is never repeated after an answer: the answer alone does not prove
    # it was not carried out, and it carries no idempotency key.
    if idempotent and not_now:
        raise _FastFailure(error)
    raise error


# Metric labels: the endpoint without its ids.
_ENDPOINTS = (
    ("/r3/v01/qr/create-link", "create-link"),
    ("/r3/v01/payment/status/", "payment-status"),
    ("/r3/v01/payment/return", "payment-return"),
    ("/r3/v01/payment/cancel", "payment-cancel"),
    ("/r3/v01/remote/create", "remote-create"),
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
