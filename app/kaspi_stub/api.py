"""The provider API in Kaspi's shape: create a payment link, read a status, refund.

Api-Key checking and fault injection happen before these views (see faults.py);
store refusals become envelopes in the app's error handler.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, request

from app.kaspi_stub import envelope as env
from app.kaspi_stub.context import get_store
from app.kaspi_stub.store import Payment

bp = Blueprint("kaspi_api", __name__, url_prefix="/r3/v01")

MAX_EXTERNAL_ID = 255


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def payment_link(payment_id: int) -> str:
    base = current_app.config.get("KASPI_STUB_PUBLIC_URL") or request.host_url
    return f"{base.rstrip('/')}/pay/{payment_id}"


def payment_data(payment: Payment) -> dict[str, Any]:
    return {
        "PaymentId": payment.payment_id,
        "ExternalId": payment.external_id,
        "Status": payment.status,
        "TransactionId": payment.transaction_id,
        "Amount": payment.reported_amount,
        "RefundedAmount": payment.refunded_amount,
        "CreatedDate": iso(payment.created_at),
        "ExpireDate": iso(payment.expire_at),
    }


def path_payment_id(raw: str) -> int:
    """A path segment that is not a plausible id names no purchase at all."""
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        raise env.StubError(env.PURCHASE_NOT_FOUND, "Purchase not found", 404)
    return int(raw)


@bp.post("/qr/create-link")
def create_link() -> Response:
    body = env.json_body()
    amount = env.parse_amount(body.get("Amount"))
    external_id = body.get("ExternalId")
    if not isinstance(external_id, str) or not external_id.strip():
        raise env.StubError(env.VALIDATION, "ExternalId must be a non-empty string")
    if len(external_id) > MAX_EXTERNAL_ID:
        raise env.StubError(env.VALIDATION, f"ExternalId is longer than {MAX_EXTERNAL_ID}")
    config = current_app.config
    payment = get_store().create_payment(external_id, amount, config["KASPI_STUB_PAYMENT_TTL_S"])
    return env.envelope(
        {
            "PaymentId": payment.payment_id,
            "PaymentLink": payment_link(payment.payment_id),
            "ExpireDate": iso(payment.expire_at),
            "Amount": payment.amount,
            "PaymentBehaviorOptions": {
                "StatusPollingInterval": config["KASPI_STUB_POLL_INTERVAL_S"],
                "LinkActivationWaitTimeout": 180,
                "PaymentConfirmationTimeout": 65,
            },
        }
    )


PHONE_DIGITS = 11  # Kazakhstan: 7 and ten digits


@bp.post("/remote/create")
def create_remote() -> Response:
    """Kaspi's remote payment: an invoice pushed to the buyer's phone (the enhanced API).

    Status ``RemotePaymentCreated`` until the buyer accepts (``Processed``) or rejects
    (``RemotePaymentRejected``) it in the app, or the merchant cancels it
    (``RemotePaymentCanceled``); ``Expired`` when nobody acted in time. The stub's
    ``PaymentLink`` is its buyer page standing in for the phone (real Kaspi sends none).
    """
    body = env.json_body()
    amount = env.parse_amount(body.get("Amount"))
    external_id = body.get("ExternalId")
    if not isinstance(external_id, str) or not external_id.strip():
        raise env.StubError(env.VALIDATION, "ExternalId must be a non-empty string")
    if len(external_id) > MAX_EXTERNAL_ID:
        raise env.StubError(env.VALIDATION, f"ExternalId is longer than {MAX_EXTERNAL_ID}")
    phone = body.get("PhoneNumber")
    if not (isinstance(phone, str) and phone.isdigit() and len(phone) == PHONE_DIGITS):
        raise env.StubError(env.VALIDATION, "PhoneNumber must be 11 digits (7XXXXXXXXXX)")
    config = current_app.config
    payment = get_store().create_remote(
        external_id, amount, phone, config["KASPI_STUB_PAYMENT_TTL_S"]
    )
    return env.envelope(
        {
            "PaymentId": payment.payment_id,
            "PaymentLink": payment_link(payment.payment_id),
            "Status": payment.status,
            "ExpireDate": iso(payment.expire_at),
            "Amount": payment.amount,
            "PaymentBehaviorOptions": {
                "StatusPollingInterval": config["KASPI_STUB_POLL_INTERVAL_S"]
            },
        }
    )


@bp.get("/payment/status/<payment_id>")
def payment_status(payment_id: str) -> Response:
    payment = get_store().get_payment(path_payment_id(payment_id))
    return env.envelope(payment_data(payment))


@bp.post("/payment/return")
def payment_return() -> Response:
    body = env.json_body()
    payment_id = env.parse_payment_id(body.get("QrPaymentId"))
    amount = env.parse_amount(body.get("Amount"))
    return_id = get_store().refund(payment_id, amount)
    return env.envelope({"ReturnOperationId": return_id, "QrPaymentId": payment_id})


@bp.post("/payment/cancel")
def payment_cancel() -> Response:
    """The merchant closes an unpaid payment, so its link can no longer be paid.

    Kaspi closes a remote invoice this way (``remote/cancel``); the stub offers the
    same for a payment link. A Processed payment answers -1603 (not waiting).
    """
    body = env.json_body()
    payment_id = env.parse_payment_id(body.get("QrPaymentId"))
    return env.envelope(payment_data(get_store().void(payment_id)))
