"""Starting the processes a benchmark measures, each stopped by the caller's ExitStack.

The launchers are the test tier's (tests/support): the same gunicorn, Celery and
Kaspi stub command lines and readiness checks. Each process is registered on the
ExitStack as soon as it exists, before anything waits on it, so a Ctrl-C or an
error at any point still stops it.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from tests.support import processes, stub_server
from tests.support.processes import Process


def _stopped_by(cleanup: ExitStack) -> Callable[[Process], object]:
    return lambda proc: cleanup.callback(proc.stop)


def start_gunicorn(
    cleanup: ExitStack,
    name: str,
    app_spec: str,
    env: dict[str, str],
    workers: int,
    graceful_s: int = 5,
) -> tuple[str, int]:
    """gunicorn on a free port; answers its base URL and master pid once /healthz answers."""
    proc, base_url = processes.start_gunicorn(
        name,
        app_spec,
        env,
        workers,
        health_path="/healthz",
        graceful_s=graceful_s,
        started=_stopped_by(cleanup),
    )
    return base_url, proc.pid


def start_stub(
    cleanup: ExitStack, workdir: Path, api_key: str, workers: int = 2, threads: int = 4
) -> str:
    """The Kaspi stub as the tests run it (threaded workers), with its SQLite in workdir:
    a second stub on the same workdir serves the same payments and faults."""
    base_url, _stop = stub_server.start_stub(
        workdir, api_key, workers=workers, threads=threads, started=_stopped_by(cleanup)
    )
    return base_url


def start_worker_and_beat(
    cleanup: ExitStack, env: dict[str, str], workdir: Path, worker_name: str
) -> None:
    """One worker (the Procfile's --concurrency 2) and one beat."""
    start_worker(cleanup, env, worker_name)
    start_beat(cleanup, env, workdir)


def start_worker(cleanup: ExitStack, env: dict[str, str], worker_name: str) -> int:
    """One worker (--concurrency 2); answers its main process id."""
    proc = processes.start_celery_worker(env, name=worker_name, concurrency=2)
    cleanup.callback(proc.stop)
    return proc.pid


def start_beat(cleanup: ExitStack, env: dict[str, str], workdir: Path) -> None:
    proc = processes.start_celery_beat(env, workdir / "celerybeat-schedule", name="bench-beat")
    cleanup.callback(proc.stop)
