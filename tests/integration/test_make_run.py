"""`make run`'s entry point as a user drives it: start, stop by a signal, kill -9, restart.

Each test runs `python -m scripts.run` in its own process group with its own ports and
its own var dir, and with DATABASE_URL / REDIS_URL pointing at closed ports, so the run
falls back to embedded PostgreSQL and Redis under that var dir: the machine's shared
servers are never touched.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil
import pytest
import requests

from tests.support.processes import ROOT, free_port, wait_until

pytestmark = pytest.mark.integration

STRIPPED = (
    "BILLING_ENV",
    "DATABASE_URL",
    "REDIS_URL",
    "KASPI_BASE_URL",
    "KASPI_API_KEY",
    "AUTH_JWT_SECRET",
    "FISCAL_BASE_URL",
    "BILLING_DEV_ENDPOINTS",
    "BILLING_EMBEDDED",
)


def closed_port() -> int:
    return free_port()  # nothing listens there once the probe socket is closed


class Run:
    """One `make run` (scripts.run) in a new process group, its output in a file."""

    def __init__(self, var: Path, **extra: str) -> None:
        self.var = var
        self.api_port = free_port()
        self.kaspi_port = free_port()
        self.fiscal_port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in STRIPPED}
        env.update(
            BILLING_VAR_DIR=str(var),
            API_PORT=str(self.api_port),
            KASPI_PORT=str(self.kaspi_port),
            FISCAL_PORT=str(self.fiscal_port),
            DATABASE_URL=f"postgresql://postgres@127.0.0.1:{closed_port()}/billing",
            REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0",
        )
        env.update(extra)
        self.env = env
        var.mkdir(parents=True, exist_ok=True)
        self.log_path = var / f"run-{free_port()}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Run:
        # The child gets its own copy of the descriptor; ours is closed at once.
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "scripts.run"],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                process_group=0,  # like a shell job: the signal goes to the whole group
            )
        return self

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_serving(self, timeout: float = 120) -> None:
        try:
            wait_until(
                lambda: "| serving" in self.output or self.proc.poll() is not None,
                timeout=timeout,
                interval=0.2,
                message="make run to serve",
            )
        except TimeoutError:
            raise AssertionError(self.output[-4000:]) from None
        assert self.proc.poll() is None, self.output[-4000:]
        answer = requests.get(f"http://127.0.0.1:{self.api_port}/healthz", timeout=5)
        assert answer.status_code == 200

    def started_processes(self) -> list[psutil.Process]:
        return psutil.Process(self.proc.pid).children(recursive=True)

    def server_ports(self) -> list[int]:
        ports = [self.api_port, self.kaspi_port, self.fiscal_port]
        for line in (self.var / "dev.env").read_text().splitlines():
            if line.startswith(("DATABASE_URL=", "REDIS_URL=")):
                ports.append(int(line.rsplit(":", 1)[1].split("/")[0]))
        return ports

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def all_gone(procs: list[psutil.Process]) -> bool:
    return not [p for p in procs if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


@pytest.fixture
def var() -> Path:
    # Not pytest's tmp_path: every pytest session resets its root to 0700, and the embedded
    # PostgreSQL runs as its own user that must reach its data dir.
    root = Path(tempfile.mkdtemp(prefix="billing-make-run-"))
    root.chmod(0o755)
    path = root / "var"
    yield path
    subprocess.run(
        [sys.executable, "-m", "scripts.stop"],
        check=False,
        env={**os.environ, "BILLING_VAR_DIR": str(path)},
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_everything_it_started(var, sig):
    run = Run(var).start()
    try:
        run.wait_serving()
        assert "did not answer: Connection refused — starting embedded PostgreSQL" in run.output
        assert "did not answer: Error 111" in run.output  # Redis says why too
        started = run.started_processes()
        names = {p.name() for p in started}
        assert {"postgres", "redis-server"} <= names and len(started) >= 8, names
        ports = run.server_ports()

        os.killpg(run.proc.pid, sig)  # as the terminal does: the whole foreground group
        assert run.proc.wait(60) == 0, run.output[-3000:]
        wait_until(lambda: all_gone(started), timeout=10, message="every started process to exit")
        assert all(port_free(port) for port in ports), ports
        assert not (var / "run" / "run.json").exists()
        assert "stopping postgres" in run.output and "| stopped" in run.output
    finally:
        run.kill()


def test_after_kill_9_the_next_start_cleans_up_and_serves(var):
    first = Run(var).start()
    try:
        first.wait_serving()
        left = first.started_processes()
        os.kill(first.proc.pid, signal.SIGKILL)
        first.proc.wait(10)
    finally:
        first.kill()

    second = Run(var, API_PORT=str(first.api_port), KASPI_PORT=str(first.kaspi_port))
    second.api_port, second.kaspi_port = first.api_port, first.kaspi_port
    second.start()
    try:
        second.wait_serving()
        started = second.started_processes()
        # Nothing of the killed run survives next to the new one.
        wait_until(lambda: all_gone(left), timeout=30, message="the killed run's processes to go")
        # The embedded database kept its data and serves the new run.
        assert "embedded PostgreSQL" in second.output
        products = requests.get(
            f"http://127.0.0.1:{second.api_port}/api/billing/products", timeout=10
        )
        assert products.status_code == 200 and products.json()["products"]
        os.killpg(second.proc.pid, signal.SIGTERM)
        assert second.proc.wait(60) == 0
        wait_until(lambda: all_gone(started), timeout=10, message="the second run to stop")
    finally:
        second.kill()


def test_a_second_run_is_refused_with_a_hint(var):
    run = Run(var).start()
    try:
        run.wait_serving()
        again = subprocess.run(
            [sys.executable, "-m", "scripts.run"],
            check=False,
            cwd=ROOT,
            env=run.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert again.returncode == 1
        assert "already running" in again.stderr and "make stop" in again.stderr

        # The second terminal: `flask` picks the settings up from the .env file.
        workdir = var / "second-terminal"
        workdir.mkdir()
        shutil.copy(var / "dev.env", workdir / ".env")
        env = {k: v for k, v in os.environ.items() if k not in STRIPPED}
        env["PYTHONPATH"] = str(ROOT)
        listed = subprocess.run(
            [str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "billing", "list"],
            check=False,
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert listed.returncode == 0, listed.stderr

        # `make demo` buys a credit end to end and prints it.
        demo = subprocess.run(
            [sys.executable, "-m", "scripts.demo"],
            check=False,
            cwd=ROOT,
            env={**env, "BILLING_VAR_DIR": str(var)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert demo.returncode == 0, demo.stdout + demo.stderr
        assert "status: completed" in demo.stdout
        assert "granted by this purchase: 1 credit(s), status available" in demo.stdout

        # `make stop` from another terminal stops it.
        stop = subprocess.run(
            [sys.executable, "-m", "scripts.stop"],
            check=False,
            cwd=ROOT,
            env={**env, "BILLING_VAR_DIR": str(var)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert stop.returncode == 0 and "stopped." in stop.stdout, stop.stdout
        assert run.proc.wait(10) == 0
    finally:
        run.kill()


def test_a_port_in_use_is_refused_with_a_hint(var):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = Run(var, API_PORT=str(port))
        result = subprocess.run(
            [sys.executable, "-m", "scripts.run"],
            check=False,
            cwd=ROOT,
            env=run.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"port {port} (API_PORT) is in use" in result.stderr
    assert "make stop" in result.stderr


def test_embedded_fallback_off_is_a_clear_error(var):
    run = Run(var, BILLING_EMBEDDED="0")
    result = subprocess.run(
        [sys.executable, "-m", "scripts.run"],
        check=False,
        cwd=ROOT,
        env=run.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "did not answer: Connection refused. BILLING_EMBEDDED=0" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert not (var / "postgres").exists()
