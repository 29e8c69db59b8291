"""The register adapter shaped on Webkassa's JSON API (or the fiscal stub).

Every call is a POST with a JSON body; the answer is ``{"Data": ...}`` or
``{"Errors": [{"Code", "Text"}]}``. What the adapter handles itself:

- error 2 (the token expired): authorize again, once, and repeat the call;
- error 11 (the shift has been open over 24 h): close it (``api/ZReport``) and
  repeat, once;
- error 14 (the ``ExternalCheckNumber`` was used): the receipt exists already, so
  it is fetched (``api/Check/ByExternalNumber``) instead of issued again. This is
  what makes a retry after a lost answer, or after a worker killed between the
  register's answer and our COMMIT, issue nothing twice.

Money goes out as JSON numbers written from the Decimal's exact text.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import urllib3
from urllib3.exceptions import HTTPError

from app.billing.fiscal.register import (
    CheckRequest,
    IssuedCheck,
    RegisterRefused,
    RegisterUnavailable,
)

log = logging.getLogger(__name__)

TOKEN_EXPIRED = 2
SHIFT_OVER_24H = 11
DUPLICATE_EXTERNAL = 14
# Webkassa's payment type 1: a card/bank transfer (Kaspi); 0 would be cash.
PAYMENT_TYPE_CARD = 1
# Webkassa's TaxType: 100 = VAT, 0 = without VAT.
TAX_TYPE_VAT = 100
TAX_TYPE_NONE = 0


def _dumps(value: Any) -> str:
    """JSON with every Decimal written as a number from its exact text."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {_dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_dumps(v) for v in value) + "]"
    return json.dumps(value)


class WebkassaRegister:
    def __init__(
        self,
        base_url: str,
        login: str,
        password: str,
        cashbox: str,
        *,
        timeout_s: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.login = login
        self.password = password
        self.cashbox = cashbox
        self.timeout = urllib3.Timeout(connect=min(timeout_s, 3.0), read=timeout_s)
        self._http = urllib3.PoolManager(maxsize=4, retries=False)
        self._token: str | None = None
        self._lock = threading.Lock()

    # -- the port ---------------------------------------------------------------

    def issue(self, check: CheckRequest) -> IssuedCheck:
        body = self._check_body(check)
        try:
            data = self._call_with_recovery("api/Check", body)
        except RegisterRefused as refused:
            if refused.code != DUPLICATE_EXTERNAL:
                raise
            log.info(
                "fiscal: external number %s already issued; fetching it", check.external_number
            )
            existing = self._call_with_recovery(
                "api/Check/ByExternalNumber",
                {"CashboxUniqueNumber": self.cashbox, "ExternalCheckNumber": check.external_number},
            )
            return _issued(existing, repeated=True)
        return _issued(data, repeated=False)

    def close_shift(self) -> dict[str, object]:
        return self._authorized("api/ZReport", {"CashboxUniqueNumber": self.cashbox})

    # -- the calls ----------------------------------------------------------------

    def _check_body(self, check: CheckRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "CashboxUniqueNumber": self.cashbox,
            "OperationType": int(check.operation),
            "Positions": [
                {
                    "Count": p.count,
                    "Price": p.price,
                    "TaxPercent": p.tax_percent,
                    "Tax": p.tax,
                    "TaxType": TAX_TYPE_VAT if p.tax_percent > 0 else TAX_TYPE_NONE,
                    "PositionName": p.name,
                    "PositionCode": p.code,
                    "UnitCode": p.unit_code,
                }
                for p in check.positions
            ],
            "Payments": [{"Sum": check.total, "PaymentType": PAYMENT_TYPE_CARD}],
            "ExternalCheckNumber": check.external_number,
        }
        if check.customer_email:
            body["CustomerEmail"] = check.customer_email
        return body

    def _call_with_recovery(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            return self._authorized(path, body)
        except RegisterRefused as refused:
            if refused.code != SHIFT_OVER_24H:
                raise
        log.warning("fiscal: shift open over 24 h; closing it and repeating %s", path)
        self.close_shift()
        return self._authorized(path, body)

    def _authorized(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        token = self._current_token()
        try:
            return self._post(path, {**body, "Token": token})
        except RegisterRefused as refused:
            if refused.code != TOKEN_EXPIRED:
                raise
        # Once: a fresh token that is refused again is the register's problem.
        return self._post(path, {**body, "Token": self._authorize(stale=token)})

    def _current_token(self) -> str:
        with self._lock:
            token = self._token
        return token if token is not None else self._authorize(stale=None)

    def _authorize(self, *, stale: str | None) -> str:
        with self._lock:
            if self._token is not None and self._token != stale:
                return self._token  # another thread authorized meanwhile
            data = self._post("api/Authorize", {"Login": self.login, "Password": self.password})
            token = data.get("Token")
            if not isinstance(token, str) or not token:
                raise RegisterUnavailable("api/Authorize answered no token")
            self._token = token
            return token

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.base_url}/{path}"
        try:
            response = self._http.request(
                "POST",
                url,
                body=_dumps(body).encode(),
                headers={"Content-Type": "application/json"},
                timeout=self.timeout,
                redirect=False,
            )
        except HTTPError as exc:
            raise RegisterUnavailable(f"{path}: {type(exc).__name__}") from exc
        if response.status >= 500 or response.status == 429:
            raise RegisterUnavailable(f"{path}: HTTP {response.status}")
        try:
            payload = json.loads(response.data, parse_float=Decimal)
        except ValueError as exc:
            raise RegisterUnavailable(f"{path}: HTTP {response.status}, not JSON") from exc
        if not isinstance(payload, dict):
            raise RegisterUnavailable(f"{path}: an answer that is not an object")
        errors = payload.get("Errors") or []
        if errors:
            first = errors[0] if isinstance(errors[0], dict) else {}
            code = first.get("Code")
            text = str(first.get("Text", "error"))
            raise RegisterRefused(f"{path}: error {code}: {text}", code=code)
        if response.status >= 400:
            raise RegisterRefused(f"{path}: HTTP {response.status}")
        data = payload.get("Data")
        if not isinstance(data, dict):
            raise RegisterUnavailable(f"{path}: an answer without Data")
        return data


def _issued(data: dict[str, Any], *, repeated: bool) -> IssuedCheck:
    try:
        number = str(data["CheckNumber"])
        ticket_url = str(data.get("TicketUrl") or "")
        issued_at = datetime.fromisoformat(str(data["DateTime"]))
    except (KeyError, ValueError) as exc:
        raise RegisterUnavailable(f"a receipt answer without {exc}") from exc
    if issued_at.tzinfo is None:
        # Webkassa writes local Almaty time without an offset (UTC+5).
        issued_at = issued_at.replace(tzinfo=timezone(timedelta(hours=5)))
    raw_cashbox = data.get("Cashbox")
    cashbox: dict[str, Any] = raw_cashbox if isinstance(raw_cashbox, dict) else {}
    raw_ofd = cashbox.get("Ofd")
    ofd: dict[str, Any] = raw_ofd if isinstance(raw_ofd, dict) else {}
    return IssuedCheck(
        fiscal_number=number,
        issued_at=issued_at.astimezone(UTC),
        offline=bool(data.get("OfflineMode", False)),
        ticket_url=ticket_url,
        registration_number=_text(cashbox.get("RegistrationNumber")),
        identity_number=_text(cashbox.get("IdentityNumber")),
        ofd_name=_text(ofd.get("Name")),
        ofd_host=_text(ofd.get("Host")),
        repeated=repeated,
        raw=data,
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)
