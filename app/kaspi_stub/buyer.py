"""The buyer's side: the payment page a link opens, and the same actions for scripts.

``/pay/...`` is what a person sees (HTML forms, redirect back to the page after a
POST so a reload does not resubmit). ``/test/payment/...`` does the same for
scripts and tests and answers the JSON envelope. Neither needs the Api-Key: in
real life the buyer acts in the Kaspi app, not with the merchant's key.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from app.kaspi_stub import envelope as env
from app.kaspi_stub.api import path_payment_id, payment_data
from app.kaspi_stub.context import get_store
from app.kaspi_stub.store import FINAL_STATUSES, Payment, Refused, Store

bp = Blueprint("kaspi_buyer", __name__, template_folder="templates")

NOTICES = {
    "paid": "Payment confirmed. You can return to the merchant.",
    "declined": "Payment declined. No money was taken.",
    "expired": "This payment link has expired and can no longer be paid.",
    "not_waiting": "This payment is already finished.",
    "canceled": "The merchant canceled this payment. It can no longer be paid.",
}


def format_kzt(amount: Decimal) -> str:
    """1000.00 -> '1 000,00' (grouped with no-break spaces, decimal comma, as in KZ)."""
    return f"{amount:,.2f}".replace(",", "\u00a0").replace(".", ",")


def status_label(payment: Payment) -> str:
    if payment.status == "Processed":
        return "Paid"
    if payment.status in ("Error", "RemotePaymentRejected"):
        return "Declined"
    if payment.status in ("Canceled", "RemotePaymentCanceled"):
        return "Canceled by the merchant"
    return "Expired" if payment.expired() else "Awaiting payment"


def _page_payment_id(raw: str) -> int | None:
    try:
        return path_payment_id(raw)
    except env.StubError:
        return None


@bp.get("/pay/<payment_id>")
def pay_page(payment_id: str) -> tuple[str, int]:
    number = _page_payment_id(payment_id)
    payment = None
    if number is not None:
        try:
            payment = get_store().get_payment(number)
        except Refused:
            payment = None
    if payment is None:
        return render_template("not_found.html"), 404
    return render_template(
        "pay.html",
        payment=payment,
        amount_text=format_kzt(payment.amount),
        status_text=status_label(payment),
        can_pay=payment.status not in FINAL_STATUSES and not payment.expired(),
        merchant=current_app.config["KASPI_STUB_MERCHANT_NAME"],
        notice=NOTICES.get(request.args.get("notice", "")),
    ), 200


def _page_action(payment_id: str, action: str) -> BaseResponse | tuple[str, int]:
    number = _page_payment_id(payment_id)
    if number is None:
        return render_template("not_found.html"), 404
    store = get_store()
    try:
        if action == "confirm":
            store.confirm(number)
            notice = "paid"
        else:
            store.decline(number)
            notice = "declined"
    except Refused as refused:
        if refused.reason == "not_found":
            return render_template("not_found.html"), 404
        notice = refused.reason
        if notice == "not_waiting" and store.get_payment(number).status == "Canceled":
            notice = "canceled"
    # 303: the browser follows with a GET, so reloading the page never re-posts.
    return redirect(url_for("kaspi_buyer.pay_page", payment_id=number, notice=notice), 303)


@bp.post("/pay/<payment_id>/confirm")
def pay_confirm(payment_id: str) -> BaseResponse | tuple[str, int]:
    return _page_action(payment_id, "confirm")


@bp.post("/pay/<payment_id>/decline")
def pay_decline(payment_id: str) -> BaseResponse | tuple[str, int]:
    return _page_action(payment_id, "decline")


def _script_action(payment_id: str, operation: str) -> Response:
    store: Store = get_store()
    payment = getattr(store, operation)(path_payment_id(payment_id))
    return env.envelope(payment_data(payment))


MAX_STATUS_LENGTH = 64


def _optional_body() -> dict[str, Any]:
    """The scripts' optional JSON body: none at all means ``{}``."""
    return env.json_body() if request.get_data(cache=True).strip() else {}


@bp.post("/test/payment/<payment_id>/confirm")
def test_confirm(payment_id: str) -> Response:
    """The buyer pays. Optional body for faults: ``{"amount": "1.00"}`` pays another
    sum than asked; ``{"force": true}`` pays even after expiry or a decline (a late
    payment our side must still find)."""
    number = path_payment_id(payment_id)
    body = _optional_body()
    unknown = sorted(set(body) - {"amount", "force"})
    if unknown:
        raise env.StubError(env.VALIDATION, f"Unknown fields: {', '.join(unknown)}")
    amount = None
    if body.get("amount") is not None:
        raw = body["amount"]
        if isinstance(raw, str):
            try:
                raw = Decimal(raw)
            except ArithmeticError:
                raise env.StubError(env.VALIDATION, "amount must be a number") from None
        amount = env.parse_amount(raw, "amount")
    force = body.get("force", False)
    if not isinstance(force, bool):
        raise env.StubError(env.VALIDATION, "force must be true or false")
    payment = get_store().confirm(number, amount=amount, force=force)
    return env.envelope(payment_data(payment))


@bp.post("/test/payment/<payment_id>/status")
def test_set_status(payment_id: str) -> Response:
    """Set any status string (``QrTokenCreated``, ``RemotePaymentCreated``, new ones)."""
    number = path_payment_id(payment_id)
    status = _optional_body().get("status")
    if not isinstance(status, str) or not status.strip() or len(status) > MAX_STATUS_LENGTH:
        raise env.StubError(
            env.VALIDATION, f"status must be a non-empty string of at most {MAX_STATUS_LENGTH}"
        )
    return env.envelope(payment_data(get_store().set_status(number, status)))


@bp.post("/test/payment/<payment_id>/error")
def test_error(payment_id: str) -> Response:
    return _script_action(payment_id, "decline")


@bp.post("/test/payment/<payment_id>/expire")
def test_expire(payment_id: str) -> Response:
    """Move ExpireDate to now: the payment stays Wait but can no longer be paid."""
    return _script_action(payment_id, "expire_now")
