"""Starting the processes a benchmark measures, each stopped by the caller's ExitStack.

The helpers in tests/support start a process and then wait for it; a Ctrl-C
during that wait would leave it running in its own session. Here each process
is registered for stopping first and waited for second.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import requests

from tests.support.processes import (
    Process,
    free_port,
    gunicorn_argv,
    http_ready,
    start_celery_beat,
    start_celery_worker,
    wait_until,
)
from tests.support.stub_server import STUB_APP


def _started(cleanup: ExitStack, proc: Process) -> Process:
    cleanup.callback(proc.stop)
    return proc


def _wait_ready(
    proc: Process, ready: Callable[[], bool], what: str, timeout_s: float = 30.0
) -> None:
    try:
        wait_until(lambda: ready() or not proc.alive(), timeout=timeout_s, message=what)
    except TimeoutError:
        raise RuntimeError(f"{what} timed out:\n{proc.tail()}") from None
    if not proc.alive():
        raise RuntimeError(f"{proc.name} exited at start-up:\n{proc.tail()}")


def start_gunicorn(
    cleanup: ExitStack, name: str, app_spec: str, env: dict[str, str], workers: int
) -> tuple[str, int]:
    """gunicorn on a free port; answers its base URL and master pid once /healthz answers."""
    port = free_port()
    proc = _started(cleanup, Process(name, gunicorn_argv(port, workers, app_spec), env).start())
    base_url = f"http://127.0.0.1:{port}"
    _wait_ready(proc, http_ready(base_url + "/healthz"), f"{name} to answer")
    return base_url, proc.pid


def start_stub(cleanup: ExitStack, workdir: Path, api_key: str, workers: int = 2) -> str:
    """The Kaspi stub as tests/support/stub_server.py runs it, with its SQLite in workdir."""
    env = dict(os.environ)
    env.pop("KASPI_STUB_PUBLIC_URL", None)
    env.update(
        {"KASPI_STUB_DB": str(workdir / "kaspi_stub.sqlite3"), "KASPI_STUB_API_KEY": api_key}
    )
    port = free_port()
    argv = gunicorn_argv(port, workers, STUB_APP, graceful_s=2, threads=4)
    proc = _started(cleanup, Process("bench-kaspi-stub", argv, env).start())
    base_url = f"http://127.0.0.1:{port}"

    def answers_as_stub() -> bool:
        try:
            response = requests.get(base_url + "/healthz", timeout=1)
            return response.status_code == 200 and response.json().get("StatusCode") == 0
        except (requests.RequestException, ValueError):
            return False

    _wait_ready(proc, answers_as_stub, "the Kaspi stub to answer")
    return base_url


def start_worker_and_beat(
    cleanup: ExitStack, env: dict[str, str], workdir: Path, worker_name: str
) -> None:
    """One worker (the Procfile's --concurrency 2) and one beat."""
    _started(cleanup, start_celery_worker(env, name=worker_name, concurrency=2))
    start_beat(cleanup, env, workdir)


def start_worker(cleanup: ExitStack, env: dict[str, str], worker_name: str) -> int:
    """One worker (--concurrency 2); answers its main process id."""
    return _started(cleanup, start_celery_worker(env, name=worker_name, concurrency=2)).pid


def start_beat(cleanup: ExitStack, env: dict[str, str], workdir: Path) -> None:
    schedule = workdir / "celerybeat-schedule"
    _started(cleanup, start_celery_beat(env, schedule, name="bench-beat"))
