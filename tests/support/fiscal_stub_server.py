"""Run the cloud-register stub under real gunicorn for tests, and drive its test endpoints.

base_url, stop = start_fiscal_stub(tmp_path)
set_register_faults(base_url, down=1)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from tests.support.processes import gunicorn_argv, start_server

FISCAL_STUB_APP = "app.fiscal_stub:create_app()"
FISCAL_LOGIN = "test-fiscal@example.kz"
FISCAL_PASSWORD = "test-fiscal-password"
FISCAL_CASHBOX = "SWK00000042"


def _answers_as_register(base_url: str) -> bool:
    try:
        response = requests.get(base_url + "/healthz", timeout=1)
        return response.status_code == 200 and response.json()["Data"]["Register"] == "fiscal-stub"
    except (requests.RequestException, ValueError, KeyError, TypeError):
        return False


def start_fiscal_stub(
    tmp_path: Path | str, *, workers: int = 2, timeout_s: float = 30.0
) -> tuple[str, Callable[[], None]]:
    """gunicorn serving the stub on a free port, its SQLite file in ``tmp_path``."""
    env = dict(os.environ)
    env.pop("FISCAL_STUB_PUBLIC_URL", None)
    env.update(
        {
            "FISCAL_STUB_DB": str(Path(tmp_path) / "fiscal_stub.sqlite3"),
            "FISCAL_STUB_LOGIN": FISCAL_LOGIN,
            "FISCAL_STUB_PASSWORD": FISCAL_PASSWORD,
            "FISCAL_STUB_CASHBOX": FISCAL_CASHBOX,
        }
    )
    proc, base_url = start_server(
        "fiscal-stub-{port}",
        lambda port: gunicorn_argv(port, workers, FISCAL_STUB_APP, graceful_s=2, threads=2),
        env,
        _answers_as_register,
        timeout_s=timeout_s,
    )
    return base_url, proc.stop


def fiscal_config(base_url: str) -> dict[str, Any]:
    """The billing settings that point at this stub."""
    return {
        "FISCAL_BASE_URL": base_url,
        "FISCAL_LOGIN": FISCAL_LOGIN,
        "FISCAL_PASSWORD": FISCAL_PASSWORD,
        "FISCAL_CASHBOX": FISCAL_CASHBOX,
        "FISCAL_TIMEOUT_S": 2.0,
    }


def register_call(base_url: str, method: str, path: str, body: dict | None = None) -> Any:
    response = requests.request(method, base_url + path, json=body, timeout=10)
    payload = response.json()
    if "Data" not in payload:
        raise AssertionError(f"{method} {path} -> HTTP {response.status_code}: {payload}")
    return payload["Data"]


def set_register_faults(base_url: str, **faults: int) -> dict:
    """latency_ms, fail_next, down, offline; fields left out keep their value."""
    return register_call(base_url, "POST", "/test/faults", faults)


def reset_register(base_url: str) -> dict:
    return register_call(base_url, "POST", "/test/reset")


def issued_receipts(base_url: str) -> list[dict]:
    return register_call(base_url, "GET", "/test/receipts")["Receipts"]


def register_state(base_url: str) -> dict:
    return register_call(base_url, "GET", "/test/receipts")


def expire_register_tokens(base_url: str) -> int:
    return register_call(base_url, "POST", "/test/expire-tokens")["Expired"]


def age_register_shift(base_url: str, hours: float) -> dict:
    return register_call(base_url, "POST", "/test/shift/age", {"hours": hours})
