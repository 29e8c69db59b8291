"""Run the Kaspi stub under real gunicorn for tests, and drive its test endpoints.

    base_url, stop = start_stub(tmp_path, "test-kaspi-key")
    try:
        confirm_payment(base_url, payment_id)
    finally:
        stop()

or ``with running_stub(tmp_path, key) as base_url: ...``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from tests.support.processes import Process, gunicorn_argv, start_server

STUB_APP = "app.kaspi_stub:create_app()"


def _answers_as_stub(base_url: str) -> bool:
    """True once /healthz gives the stub's own envelope (not just any server on the port)."""
    try:
        response = requests.get(base_url + "/healthz", timeout=1)
        return response.status_code == 200 and response.json().get("StatusCode") == 0
    except (requests.RequestException, ValueError):
        return False


def start_stub(
    tmp_path: Path | str,
    api_key: str,
    *,
    workers: int = 2,
    threads: int = 1,
    extra_env: dict[str, str] | None = None,
    timeout_s: float = 30.0,
    started: Callable[[Process], object] | None = None,
) -> tuple[str, Callable[[], None]]:
    """Start gunicorn serving the stub on a free port; answers (base_url, stop).

    The SQLite file lives in ``tmp_path``, so each call gets a fresh stub state.
    ``started`` sees the process before any waiting (see ``start_server``).
    """
    env = dict(os.environ)
    env.pop("KASPI_STUB_PUBLIC_URL", None)
    env.update(
        {
            "KASPI_STUB_DB": str(Path(tmp_path) / "kaspi_stub.sqlite3"),
            "KASPI_STUB_API_KEY": api_key,
            **(extra_env or {}),
        }
    )
    proc, base_url = start_server(
        "kaspi-stub-{port}",
        lambda port: gunicorn_argv(port, workers, STUB_APP, graceful_s=2, threads=threads),
        env,
        _answers_as_stub,
        timeout_s=timeout_s,
        started=started,
    )
    return base_url, proc.stop


@contextmanager
def running_stub(tmp_path: Path | str, api_key: str, **kwargs: Any) -> Iterator[str]:
    base_url, stop = start_stub(tmp_path, api_key, **kwargs)
    try:
        yield base_url
    finally:
        stop()


def stub_call(base_url: str, method: str, path: str, body: dict | None = None) -> dict:
    """Call a stub test endpoint; answers its Data, or raises if StatusCode is not 0."""
    response = requests.request(method, base_url + path, json=body, timeout=10)
    payload = response.json()
    if payload.get("StatusCode") != 0:
        raise AssertionError(f"{method} {path} -> HTTP {response.status_code}: {payload}")
    return payload["Data"]


def confirm_payment(
    base_url: str, payment_id: str | int, *, amount: str | None = None, force: bool = False
) -> dict:
    """The buyer pays (``amount``: another sum than asked; ``force``: even after
    expiry or a decline): the payment becomes Processed."""
    body: dict = {}
    if amount is not None:
        body["amount"] = amount
    if force:
        body["force"] = True
    return stub_call(base_url, "POST", f"/test/payment/{payment_id}/confirm", body or None)


def set_payment_status(base_url: str, payment_id: str | int, status: str) -> dict:
    """Any Kaspi status string (QrTokenCreated, RemotePaymentCreated, a new one)."""
    return stub_call(base_url, "POST", f"/test/payment/{payment_id}/status", {"status": status})


def fail_payment(base_url: str, payment_id: str | int) -> dict:
    """The buyer declines: the payment becomes Error."""
    return stub_call(base_url, "POST", f"/test/payment/{payment_id}/error")


def expire_payment(base_url: str, payment_id: str | int) -> dict:
    """ExpireDate moves to now: the payment stays Wait but can no longer be paid."""
    return stub_call(base_url, "POST", f"/test/payment/{payment_id}/expire")


def set_faults(base_url: str, **faults: int | float) -> dict:
    """latency_ms, error_rate, timeout_ms, fail_next; fields left out keep their value."""
    return stub_call(base_url, "POST", "/test/faults", faults)


def create_calls(base_url: str, external_id: str) -> int:
    """How many create-link calls for ``external_id`` reached the stub's work."""
    response = requests.get(
        base_url + "/test/create-calls", params={"external_id": external_id}, timeout=10
    )
    payload = response.json()
    if payload.get("StatusCode") != 0:
        raise AssertionError(f"GET /test/create-calls -> HTTP {response.status_code}: {payload}")
    return int(payload["Data"]["Calls"])


def reset_faults(base_url: str) -> dict:
    return stub_call(base_url, "POST", "/test/reset")
