"""Start real service processes (gunicorn, celery) for the integration tier."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
# Each pytest-xdist worker (gw0, gw1, ...) writes its processes' logs to a folder of its own,
# so two workers' "api" servers never share a log file.
LOG_DIR = ROOT / "var" / "test-logs" / os.environ.get("PYTEST_XDIST_WORKER", "")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(
    predicate: Callable[[], object],
    timeout: float = 20.0,
    interval: float = 0.05,
    message: str = "condition",
) -> object:
    """Poll ``predicate`` until it returns something truthy, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def bin_path(name: str) -> str:
    return str(Path(sys.executable).parent / name)


class Process:
    """A child process in its own process group, with its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = LOG_DIR / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Process:
        # The child gets its own copy of the descriptor; ours is closed at once.
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        """Kill the whole process group at once, as a crash would."""
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 15.0) -> None:
        if not self.alive():
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


def http_ready(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return requests.get(url, timeout=1).status_code < 500
        except requests.RequestException:
            return False

    return check


def gunicorn_argv(
    port: int, workers: int, app_spec: str, graceful_s: int = 5, threads: int = 1
) -> list[str]:
    # More than one thread makes gunicorn use its gthread worker, which keeps
    # connections alive (the sync worker closes each after one response).
    return [
        bin_path("gunicorn"),
        "--workers",
        str(workers),
        *(["--threads", str(threads)] if threads > 1 else []),
        "--bind",
        f"127.0.0.1:{port}",
        # Workers may be sleeping in an injected latency; don't wait long on stop.
        "--graceful-timeout",
        str(graceful_s),
        # gunicorn's control socket is one path per user: side-by-side servers would clash.
        "--no-control-socket",
        app_spec,
    ]


def start_server(
    name: str,
    argv_for_port: Callable[[int], list[str]],
    env: dict[str, str],
    ready: Callable[[str], bool],
    *,
    timeout_s: float = 30.0,
    started: Callable[[Process], object] | None = None,
    attempts: int = 3,
) -> tuple[Process, str]:
    """Start a server on a free port and wait until ``ready(base_url)``; answers (proc, base_url).

    ``started`` is called with each process as soon as it exists, before any waiting (a
    caller's ExitStack registers its stop there). A port taken between choosing and binding
    it makes the server exit: another port is tried rather than waiting for the timeout.
    Whatever interrupts the wait (a timeout, Ctrl-C) stops the process first. ``name`` may
    hold ``{port}``.
    """
    last_log = ""
    for _attempt in range(attempts):
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        proc = Process(name.format(port=port), argv_for_port(port), env).start()
        if started is not None:
            started(proc)
        try:
            wait_until(
                lambda proc=proc, url=base_url: (not proc.alive()) or ready(url),
                timeout=timeout_s,
                message=f"{proc.name} to answer",
            )
        except TimeoutError:
            proc.stop()
            raise RuntimeError(f"{proc.name} did not start:\n{proc.tail()}") from None
        except BaseException:
            proc.stop()
            raise
        if proc.alive():
            return proc, base_url
        last_log = proc.tail()
    raise RuntimeError(f"{name} exited at start-up:\n{last_log}")


def start_gunicorn(
    name: str,
    app_spec: str,
    env: dict[str, str],
    workers: int = 2,
    health_path: str = "/openapi.json",
    *,
    threads: int = 1,
    graceful_s: int = 5,
    started: Callable[[Process], object] | None = None,
) -> tuple[Process, str]:
    """gunicorn serving ``app_spec`` on a free port, once ``health_path`` answers."""
    return start_server(
        name,
        lambda port: gunicorn_argv(port, workers, app_spec, graceful_s, threads),
        env,
        lambda base_url: http_ready(base_url + health_path)(),
        started=started,
    )


def start_celery_worker(
    env: dict[str, str], name: str = "worker", concurrency: int = 2, app: str = "workers"
) -> Process:
    """A real worker; ``app`` may name a test entry point that patches the real app."""
    return Process(
        name,
        [
            bin_path("celery"),
            "-A",
            app,
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            str(concurrency),
            "--pool",
            "prefork",
            "--hostname",
            f"{name}@%h",
            "--without-mingle",
            "--without-gossip",
        ],
        env,
    ).start()


def start_celery_beat(env: dict[str, str], schedule_path: Path, name: str = "beat") -> Process:
    return Process(
        name,
        [
            bin_path("celery"),
            "-A",
            "workers",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(schedule_path),
        ],
        env,
    ).start()
