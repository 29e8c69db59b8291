"""Kaspi's response envelope, its error codes, and exact-decimal JSON in and out.

Every answer of the stub, success or failure, is
``{"StatusCode": <int>, "Message": <str>, "Data": {...}}``. Kaspi reports
failures with negative StatusCodes, so clients branch on the code, not on text.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

from flask import Response, request

from app.kaspi_stub.store import Refused
from app.money import NotCents, Wrong, exact_cents

OK = 0
INTERNAL = -999  # internal failure or an injected fault: retryable, nothing happened
VALIDATION = -1501  # malformed body, wrong types, bad amount
EXTERNAL_ID_CONFLICT = -1502  # ExternalId already used with another amount
PURCHASE_NOT_FOUND = -1601
PAYMENT_EXPIRED = -1602  # past ExpireDate: can no longer be paid or declined
PAYMENT_NOT_WAITING = -1603  # already Processed or Error
RETURN_NOT_ALLOWED = -1701  # refund of a payment that is not Processed
RETURN_AMOUNT_EXCEEDED = -1702  # refund above paid minus already refunded
UNAUTHORIZED = -14000
# Stub-specific codes for HTTP-level failures; deliberately distinct from -1601 so a
# wrong base URL is never mistaken for "this payment does not exist".
ROUTE_NOT_FOUND = -10404
METHOD_NOT_ALLOWED = -10405
PAYLOAD_TOO_LARGE = -10413

MAX_AMOUNT = Decimal("999999999999.99")


class StubError(Exception):
    """A Kaspi-style failure: the view raises it, the app turns it into an envelope."""

    def __init__(self, status_code: int, message: str, http_status: int = 400) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.http_status = http_status


# Why the store refused something -> (StatusCode, HTTP status).
REFUSALS: dict[str, tuple[int, int]] = {
    "not_found": (PURCHASE_NOT_FOUND, 404),
    "amount_mismatch": (EXTERNAL_ID_CONFLICT, 409),
    "expired": (PAYMENT_EXPIRED, 409),
    "not_waiting": (PAYMENT_NOT_WAITING, 409),
    "not_processed": (RETURN_NOT_ALLOWED, 409),
    "over_refund": (RETURN_AMOUNT_EXCEEDED, 409),
}


def from_refusal(refused: Refused) -> StubError:
    status_code, http_status = REFUSALS[refused.reason]
    return StubError(status_code, refused.message, http_status)


def dumps(payload: Any) -> str:
    """JSON text in which every Decimal is written as a number with its exact digits.

    The stdlib encoder cannot emit a Decimal as a number (and a float would lose
    cents), so each Decimal becomes a unique stand-in string that is then swapped
    for the Decimal's own text.
    """
    nonce = uuid.uuid4().hex
    numbers: dict[str, str] = {}

    def swap(value: Any) -> Any:
        if isinstance(value, Decimal):
            token = f"{nonce}:{len(numbers)}"
            numbers[token] = format(value, "f")
            return token
        if isinstance(value, dict):
            return {key: swap(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [swap(item) for item in value]
        return value

    text = json.dumps(swap(payload), ensure_ascii=False)
    for token, number in numbers.items():
        text = text.replace(json.dumps(token), number)
    return text


def envelope(
    data: dict[str, Any] | None = None,
    status_code: int = OK,
    message: str = "OK",
    http_status: int = 200,
) -> Response:
    body = dumps({"StatusCode": status_code, "Message": message, "Data": data or {}})
    return Response(body, status=http_status, mimetype="application/json")


def error_envelope(error: StubError) -> Response:
    return envelope(None, error.status_code, error.message, error.http_status)


def json_body() -> dict[str, Any]:
    """The request body as a JSON object; floats become Decimal so cents stay exact."""
    raw = request.get_data(cache=True)
    try:
        payload = json.loads(raw.decode("utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, ValueError):
        raise StubError(VALIDATION, "Request body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise StubError(VALIDATION, "Request body must be a JSON object")
    return payload


def parse_amount(value: Any, field: str = "Amount") -> Decimal:
    """A positive JSON number with at most two decimals, as an exact Decimal.

    Strings, booleans (an int subclass in Python) and NaN/Infinity are refused.
    """
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise StubError(VALIDATION, f"{field} must be a number")
    amount = Decimal(value)
    try:
        exact = exact_cents(amount)
    except NotCents as exc:
        if exc.wrong == Wrong.TOO_PRECISE:
            raise StubError(VALIDATION, f"{field} must have at most 2 decimals") from None
        raise StubError(VALIDATION, f"{field} must be positive and at most {MAX_AMOUNT}") from None
    if exact > MAX_AMOUNT:
        raise StubError(VALIDATION, f"{field} must be positive and at most {MAX_AMOUNT}")
    return exact


def parse_payment_id(value: Any) -> int:
    """Kaspi payment ids are integers; accept them as a number or a digit string."""
    if isinstance(value, bool):
        raise StubError(VALIDATION, "QrPaymentId must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    raise StubError(VALIDATION, "QrPaymentId must be an integer")
