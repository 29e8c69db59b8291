"""The provider API's gate (Api-Key) and fault injection, settable at run time.

Faults live in SQLite, so a setting made through one gunicorn worker is obeyed
by all of them. They apply to ``/r3/...`` calls only, after the Api-Key check:
- ``timeout_ms``: the call hangs that long, then fails with HTTP 504 and does nothing;
- ``fail_next``: the next N calls fail with HTTP 500 and do nothing (deterministic);
- ``error_rate``: that fraction of calls fails with HTTP 500 and does nothing;
- ``latency_ms``: the call does its work, then the answer is delayed, so a client
  that times out does not know whether it happened (as with a real slow provider);
  6000 is a provider that answers in 6 s.

``/test/create-calls`` tells how many create-link calls for one ExternalId reached
the stub's work (faults that fail a call before it are not counted).
"""

from __future__ import annotations

import hmac
import random
import time
from decimal import Decimal
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request

from app.kaspi_stub import envelope as env
from app.kaspi_stub.context import get_store
from app.kaspi_stub.store import FAULT_FIELDS, Faults

bp = Blueprint("kaspi_faults", __name__)

# Delays stay under gunicorn's default 30 s worker timeout, so a slow answer is
# not turned into a killed worker; the bound also keeps a typo from hanging one.
INT_LIMITS = {"latency_ms": 25_000, "timeout_ms": 25_000, "fail_next": 1_000_000}


def faults_data(faults: Faults) -> dict[str, Any]:
    return {name: getattr(faults, name) for name in FAULT_FIELDS}


def _check_api_key() -> Response | None:
    expected = current_app.config["KASPI_STUB_API_KEY"].encode()
    given = request.headers.get("Api-Key", "").encode()
    if not hmac.compare_digest(given, expected):
        return env.envelope(None, env.UNAUTHORIZED, "Invalid or missing Api-Key", 401)
    return None


def guard_provider_api() -> Response | None:
    if not request.path.startswith("/r3/"):
        return None
    refused = _check_api_key()
    if refused is not None:
        return refused
    store = get_store()
    faults = store.get_faults()
    g.kaspi_latency_ms = faults.latency_ms
    if faults.timeout_ms:
        time.sleep(faults.timeout_ms / 1000)
        return env.envelope(None, env.INTERNAL, "Injected timeout", 504)
    if faults.fail_next and store.take_fail_next():
        return env.envelope(None, env.INTERNAL, "Injected failure (fail_next)", 500)
    if faults.error_rate and random.random() < faults.error_rate:
        return env.envelope(None, env.INTERNAL, "Injected failure (error_rate)", 500)
    return None


def delay_provider_answer(response: Response) -> Response:
    latency_ms = g.pop("kaspi_latency_ms", 0)
    if latency_ms:
        time.sleep(latency_ms / 1000)
    return response


def _parse_changes(body: dict[str, Any]) -> dict[str, int | float]:
    unknown = sorted(set(body) - set(FAULT_FIELDS))
    if unknown:
        raise env.StubError(env.VALIDATION, f"Unknown fault fields: {', '.join(unknown)}")
    changes: dict[str, int | float] = {}
    for name, value in body.items():
        if name == "error_rate":
            if isinstance(value, bool) or not isinstance(value, int | Decimal):
                raise env.StubError(env.VALIDATION, "error_rate must be a number")
            if not 0 <= value <= 1:
                raise env.StubError(env.VALIDATION, "error_rate must be between 0 and 1")
            changes[name] = float(value)
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise env.StubError(env.VALIDATION, f"{name} must be an integer")
        if not 0 <= value <= INT_LIMITS[name]:
            raise env.StubError(env.VALIDATION, f"{name} must be between 0 and {INT_LIMITS[name]}")
        changes[name] = value
    return changes


@bp.get("/test/faults")
def read_faults() -> Response:
    return env.envelope(faults_data(get_store().get_faults()))


@bp.post("/test/faults")
def set_faults() -> Response:
    """Change the given fault fields; fields left out keep their value."""
    changes = _parse_changes(env.json_body())
    return env.envelope(faults_data(get_store().set_faults(**changes)))


@bp.get("/test/create-calls")
def read_create_calls() -> Response:
    external_id = request.args.get("external_id", "")
    if not external_id:
        raise env.StubError(env.VALIDATION, "external_id is required")
    calls = get_store().create_calls(external_id)
    return env.envelope({"ExternalId": external_id, "Calls": calls})


@bp.post("/test/reset")
def reset() -> Response:
    """Clear every fault; payments are kept."""
    return env.envelope(faults_data(get_store().reset_faults()))


def init_app(app: Flask) -> None:
    app.before_request(guard_provider_api)
    app.after_request(delay_provider_answer)
    app.register_blueprint(bp)
