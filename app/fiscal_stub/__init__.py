"""Cloud cash register stub: a small WSGI service shaped on Webkassa's JSON API.

Run it with ``gunicorn 'app.fiscal_stub:create_app()'``. Billing talks to it only
over HTTP (``app.billing.fiscal.webkassa``), so pointing ``FISCAL_BASE_URL`` at a
real cloud register is a configuration change. State lives in one SQLite file
shared by every worker (``FISCAL_STUB_DB``).

Answers are Webkassa's: ``{"Data": {...}}`` on success, ``{"Errors": [{"Code",
"Text"}]}`` otherwise, both HTTP 200; injected faults answer HTTP 5xx.

- ``POST /api/Authorize`` ``{Login, Password}`` → ``Token``;
- ``POST /api/Check``: a sale (``OperationType`` 2) or a return (3); error 2: the
  token expired; 11: the shift has been open over 24 h; 14: the
  ``ExternalCheckNumber`` was used (its receipt is kept, not issued again);
- ``POST /api/Check/ByExternalNumber``: the receipt issued under an external number;
- ``POST /api/ZReport``: close the shift;
- ``GET /ticket/<check_number>``: the buyer's receipt page (``TicketUrl``);
- ``/test/...``: faults (``latency_ms``, ``fail_next``, ``down``, ``offline``),
  expiring every token, ageing the shift, the receipts issued.
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
import time
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, render_template_string, request
from werkzeug.exceptions import HTTPException

from app.fiscal_stub.store import FAULT_FIELDS, Store, Stored, connect, init_db

log = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    "FISCAL_STUB_DB": "var/fiscal_stub.sqlite3",
    "FISCAL_STUB_LOGIN": "dev-fiscal@example.kz",
    "FISCAL_STUB_PASSWORD": "dev-fiscal-password",
    "FISCAL_STUB_CASHBOX": "SWK00000001",
    "FISCAL_STUB_PUBLIC_URL": "",  # empty: ticket links use the host the request came to
}

# Webkassa's error codes the billing adapter acts on, and the stub's others.
WRONG_CREDENTIALS = 1
TOKEN_EXPIRED = 2
INVALID = 4
CASHBOX_UNKNOWN = 6
SHIFT_OVER_24H = 11
DUPLICATE_EXTERNAL = 14
NOT_FOUND = 15

_local = threading.local()


def load_settings(config: dict[str, Any] | None) -> dict[str, Any]:
    settings = dict(DEFAULTS)
    for key in DEFAULTS:
        if os.environ.get(key):
            settings[key] = os.environ[key]
    settings.update(config or {})
    return settings


def get_store() -> Store:
    path = current_app.config["FISCAL_STUB_DB"]
    key = (os.getpid(), path)  # a forked worker must not share its parent's connection
    conns = _local.__dict__.setdefault("connections", {})
    if key not in conns:
        conns[key] = connect(path)
    return Store(conns[key])


def ok(data: Any) -> Response:
    return jsonify({"Data": data})


def refused(code: int, text: str) -> Response:
    return jsonify({"Errors": [{"Code": code, "Text": text}]})


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _money(value: Any) -> Decimal | None:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() and amount >= 0 else None


def _authorized(body: dict[str, Any]) -> Response | None:
    store = get_store()
    if not store.token_valid(str(body.get("Token", ""))):
        return refused(TOKEN_EXPIRED, "Session expired: authorize again")
    if body.get("CashboxUniqueNumber") != current_app.config["FISCAL_STUB_CASHBOX"]:
        return refused(CASHBOX_UNKNOWN, "Cashbox not found")
    return None


def _receipt_data(stored: Stored) -> dict[str, Any]:
    base = current_app.config["FISCAL_STUB_PUBLIC_URL"] or request.host_url.rstrip("/")
    return {
        "CheckNumber": stored.check_number,
        "DateTime": stored.created_at,
        "OfflineMode": stored.offline,
        "ShiftNumber": stored.shift_number,
        "ExternalCheckNumber": stored.external_number,
        "TicketUrl": f"{base}/ticket/{stored.check_number}",
        "Cashbox": {
            "UniqueNumber": current_app.config["FISCAL_STUB_CASHBOX"],
            "RegistrationNumber": "600400000001",
            "IdentityNumber": "1001",
            "Ofd": {"Name": "Kazakhtelecom OFD (stub)", "Host": "consumer.oofd.kz"},
        },
    }


def _validate_check(body: dict[str, Any]) -> str | None:
    """Why a check is refused (the totals must agree), or None."""
    if body.get("OperationType") not in (2, 3):
        return "OperationType must be 2 (sale) or 3 (return)"
    if not str(body.get("ExternalCheckNumber", "")).strip():
        return "ExternalCheckNumber is required"
    positions, payments = body.get("Positions"), body.get("Payments")
    if not isinstance(positions, list) or not positions or not isinstance(payments, list):
        return "Positions and Payments are required"
    total = Decimal(0)
    for position in positions:
        if not isinstance(position, dict):
            return "a position must be an object"
        count, price = _money(position.get("Count")), _money(position.get("Price"))
        if count is None or price is None or not position.get("PositionName"):
            return "a position needs Count, Price and PositionName"
        total += count * price
    paid = Decimal(0)
    for payment in payments:
        amount = _money(payment.get("Sum")) if isinstance(payment, dict) else None
        if amount is None:
            return "a payment needs Sum"
        paid += amount
    if paid != total or total <= 0:
        return f"payments ({paid}) must equal the positions' total ({total}) and be positive"
    return None


def register_api(app: Flask) -> None:
    @app.post("/api/Authorize")
    def authorize() -> Response:
        body = _body()
        login_ok = hmac.compare_digest(
            str(body.get("Login", "")).encode(), app.config["FISCAL_STUB_LOGIN"].encode()
        )
        password_ok = hmac.compare_digest(
            str(body.get("Password", "")).encode(), app.config["FISCAL_STUB_PASSWORD"].encode()
        )
        if not (login_ok and password_ok):
            return refused(WRONG_CREDENTIALS, "Wrong login or password")
        return ok({"Token": get_store().new_token()})

    @app.post("/api/Check")
    def check() -> Response:
        body = _body()
        denied = _authorized(body)
        if denied is not None:
            return denied
        why = _validate_check(body)
        if why is not None:
            return refused(INVALID, why)
        store = get_store()
        total = sum(Decimal(str(p["Sum"])) for p in body["Payments"])
        stored, reason = store.add_receipt(
            str(body["ExternalCheckNumber"]),
            int(body["OperationType"]),
            f"{total:.2f}",
            bool(store.get_faults().offline),
            body,
        )
        if reason == "duplicate":
            return refused(DUPLICATE_EXTERNAL, "A check with this external number exists")
        if reason == "shift_expired":
            return refused(SHIFT_OVER_24H, "The shift has been open over 24 hours")
        if stored is None:
            return refused(INVALID, "not stored")
        return ok(_receipt_data(stored))

    @app.post("/api/Check/ByExternalNumber")
    def by_external() -> Response:
        body = _body()
        denied = _authorized(body)
        if denied is not None:
            return denied
        stored = get_store().by_external(str(body.get("ExternalCheckNumber", "")))
        if stored is None:
            return refused(NOT_FOUND, "Check not found")
        return ok(_receipt_data(stored))

    @app.post("/api/ZReport")
    def zreport() -> Response:
        body = _body()
        denied = _authorized(body)
        if denied is not None:
            return denied
        return ok(get_store().close_shift())


TICKET = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Receipt {{ r.check_number }}</title></head><body><main>
<h1>{{ 'Return of a sale' if r.body.OperationType == 3 else 'Sale' }}</h1>
<p>Fiscal number: {{ r.check_number }}{% if r.offline %} (offline mode){% endif %}</p>
<p>Shift {{ r.shift_number }}, {{ r.created_at }}</p>
<ul>{% for p in r.body.Positions %}<li>{{ p.PositionName }} ({{ p.PositionCode }}):
{{ p.Count }} x {{ p.Price }}, VAT {{ p.TaxPercent }}% {{ p.Tax }}</li>{% endfor %}</ul>
<p>Total: {{ total }}</p><p>OFD: consumer.oofd.kz</p></main></body></html>"""


def register_pages(app: Flask) -> None:
    @app.get("/ticket/<check_number>")
    def ticket(check_number: str) -> Response | tuple[str, int]:
        stored = get_store().by_number(check_number)
        if stored is None:
            return "receipt not found", 404
        total = sum(Decimal(str(p["Sum"])) for p in stored.body["Payments"])
        return Response(render_template_string(TICKET, r=stored, total=f"{total:.2f}"))


def register_test_api(app: Flask) -> None:
    @app.get("/test/faults")
    def read_faults() -> Response:
        return ok(get_store().get_faults().__dict__)

    @app.post("/test/faults")
    def set_faults() -> Response:
        body = _body()
        changes = {k: v for k, v in body.items() if k in FAULT_FIELDS}
        if set(body) - set(FAULT_FIELDS) or any(
            isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in changes.values()
        ):
            return refused(INVALID, f"faults are non-negative integers: {', '.join(FAULT_FIELDS)}")
        return ok(get_store().set_faults(**changes).__dict__)

    @app.post("/test/reset")
    def reset() -> Response:
        return ok(get_store().reset_faults().__dict__)

    @app.post("/test/expire-tokens")
    def expire_tokens() -> Response:
        return ok({"Expired": get_store().expire_tokens()})

    @app.post("/test/shift/age")
    def age_shift() -> Response:
        hours = _money(_body().get("hours"))
        if hours is None:
            return refused(INVALID, "hours is required")
        get_store().age_shift(float(hours))
        return ok({"Shift": dict(get_store().shift())})

    @app.get("/test/receipts")
    def receipts() -> Response:
        store = get_store()
        return ok(
            {
                "Receipts": [
                    {**_receipt_data(r), "OperationType": r.body["OperationType"], "Body": r.body}
                    for r in store.receipts()
                ],
                "ZReports": store.zreports(),
                "Shift": dict(store.shift()),
            }
        )


def register_faults(app: Flask) -> None:
    @app.before_request
    def inject() -> Response | tuple[Response, int] | None:
        if not request.path.startswith("/api/"):
            return None
        store = get_store()
        faults = store.get_faults()
        g.latency_ms = faults.latency_ms
        if faults.down:
            return jsonify({"Errors": [{"Code": -1, "Text": "Injected: down"}]}), 503
        if faults.fail_next and store.take_fail_next():
            return jsonify({"Errors": [{"Code": -1, "Text": "Injected: fail_next"}]}), 500
        return None

    @app.after_request
    def delay(response: Response) -> Response:
        # The work is done, then the answer is late: a client that gives up first
        # does not know the receipt was issued (the idempotency key's case).
        latency = g.pop("latency_ms", 0)
        if latency:
            time.sleep(min(latency, 25_000) / 1000)
        response.headers["X-Stub-Pid"] = str(os.getpid())
        return response


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(load_settings(config))
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    init_db(app.config["FISCAL_STUB_DB"])
    register_faults(app)
    register_api(app)
    register_pages(app)
    register_test_api(app)

    @app.get("/healthz")
    def healthz() -> Response:
        get_store().conn.execute("SELECT 1").fetchone()
        return ok({"Status": "ok", "Register": "fiscal-stub"})

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        return jsonify({"Errors": [{"Code": INVALID, "Text": error.name}]}), error.code or 500

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[Response, int]:
        log.exception("fiscal stub: unhandled error")
        return jsonify({"Errors": [{"Code": -1, "Text": "Internal error"}]}), 500

    return app
