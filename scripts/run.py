"""`make run`: find or start PostgreSQL and Redis, migrate, then supervise every process.

API, Celery worker, Celery beat and the Kaspi stub (the Procfile) run under a small
supervisor (scripts/supervisor.py) in the foreground: a process that crashes is
restarted with backoff; Ctrl-C, SIGTERM or closing the terminal (SIGHUP) stops
everything this command started, embedded servers included, and waits for it.

Before starting it refuses politely when a previous run is still alive or a port is
taken (`make stop` fixes both), and cleans up after a run that was killed.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from scripts.embedded import (
    EmbeddedPostgres,
    EmbeddedRedis,
    EmbeddedServer,
    free_port,
    port_is_free,
)
from scripts.localservices import (
    ROOT,
    ServiceUnavailable,
    database_name,
    embedded_allowed,
    ensure_database,
    fallback_message,
    postgres_problem,
    redacted,
    redis_problem,
    refusal_message,
    var_dir,
    which,
    with_database,
)
from scripts.supervisor import Program, Supervisor, running_supervisor, stop_leftovers

DB_NAME = "billing"
DOTENV_MARKER = "# Written by `make run`"


class Refused(Exception):
    """A clear, expected reason not to start (printed without a traceback)."""


def state_file(var: Path) -> Path:
    return var / "run" / "run.json"


def base_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("BILLING_ENV", "development")
    env.setdefault("BILLING_DEV_ENDPOINTS", "1")
    env.setdefault("API_PORT", "8000")
    env.setdefault("KASPI_PORT", "8090")
    env["BILLING_VAR_DIR"] = str(var_dir())
    env.setdefault("KASPI_BASE_URL", f"http://127.0.0.1:{env['KASPI_PORT']}")
    env.setdefault("KASPI_STUB_PUBLIC_URL", env["KASPI_BASE_URL"])
    env.setdefault("KASPI_STUB_DB", str(var_dir() / "kaspi_stub.sqlite3"))
    # The cloud-register stub (Procfile `fiscal`) and the settings that point billing at it.
    env.setdefault("FISCAL_PORT", "8091")
    env.setdefault("FISCAL_BASE_URL", f"http://127.0.0.1:{env['FISCAL_PORT']}")
    env.setdefault("FISCAL_STUB_PUBLIC_URL", f"http://127.0.0.1:{env['FISCAL_PORT']}")
    env.setdefault("FISCAL_STUB_DB", str(var_dir() / "fiscal_stub.sqlite3"))
    for key, value in FISCAL_STUB_LOGIN.items():
        env.setdefault(key, value)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    if not env.get("AUTH_JWT_SECRET"):
        env["AUTH_JWT_SECRET"] = dev_secret(var_dir())
    return env


# The stub's own defaults (app/fiscal_stub), so billing signs in to it out of the box.
FISCAL_STUB_LOGIN = {
    "FISCAL_LOGIN": "dev-fiscal@example.kz",
    "FISCAL_PASSWORD": "dev-fiscal-password",
    "FISCAL_CASHBOX": "SWK00000001",
}


def dev_secret(var: Path) -> str:
    """A development JWT secret kept under var/: long enough for HS256, stable across runs
    (tokens printed yesterday still work), and written to .env for `flask auth token`."""
    import secrets

    path = var / "run" / "dev-jwt-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(36))
        path.chmod(0o600)
    return path.read_text().strip()


def port_owner(port: int) -> str:
    """Who listens on a local port, as far as we can tell."""
    try:
        import psutil

        for conn in psutil.net_connections(kind="tcp"):
            listening = conn.status == psutil.CONN_LISTEN
            if conn.laddr and conn.laddr.port == port and listening and conn.pid:
                proc = psutil.Process(conn.pid)
                return f"pid {conn.pid} ({' '.join(proc.cmdline())[:80]})"
    except Exception:  # best effort: the message works without it
        return "another process"
    return "another process"


def check_not_running(var: Path) -> None:
    pid = running_supervisor(state_file(var))
    if pid:
        raise Refused(
            f"`make run` is already running (pid {pid}). Use that one, or stop it with "
            "`make stop` (or Ctrl-C in its terminal)."
        )
    stopped = stop_leftovers(state_file(var))
    if stopped:
        print(
            "Cleaned up after a previous `make run` that did not stop: " + ", ".join(stopped),
            flush=True,
        )


def check_ports(env: dict[str, str]) -> None:
    for name in ("API_PORT", "KASPI_PORT", "FISCAL_PORT"):
        port = int(env[name])
        if not port_is_free(port):
            raise Refused(
                f"port {port} ({name}) is in use by {port_owner(port)}. If that is an old "
                f"`make run`, stop it with `make stop`; or pick another port: "
                f"`make run {name}=<port>`."
            )


def remembered_port(var: Path, name: str) -> int:
    """Embedded servers keep their port across runs when it is free (stable URLs)."""
    path = var / "run" / "ports.json"
    try:
        ports = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        ports = {}
    port = ports.get(name)
    if not port or not port_is_free(port):
        port = free_port()
        ports[name] = port
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(ports))
    return port


def start_embedded(sup: Supervisor, server: EmbeddedServer, env: dict[str, str]) -> str:
    for line in server.prepare():
        sup.say("run", f"stopped {line}")
    program = Program(server.name, server.argv(), env=env, stop_signal=server.stop_signal)
    program.user = server.user
    sup.start(program)
    sup.wait_until(server.answers, 60, f"embedded {server.name} to answer")
    return server.url


def resolve_postgres(sup: Supervisor, env: dict[str, str], var: Path) -> tuple[str, bool]:
    """The database URL to use, and whether it is embedded."""
    requested = env.get("DATABASE_URL", f"postgresql://postgres@127.0.0.1:5432/{DB_NAME}")
    name = database_name(requested)
    problem = postgres_problem(requested)
    if problem and problem == f'database "{name}" does not exist':
        server = with_database(requested, "postgres")
        if postgres_problem(server) is None:
            ensure_database(server, name)
            sup.say("run", f"created database {name!r} on {redacted(server)}")
            problem = None
    if problem is None:
        return requested, False
    if not embedded_allowed():
        raise ServiceUnavailable(refusal_message("PostgreSQL", requested, problem, "DATABASE_URL"))
    where = var / "postgres"
    sup.say("run", fallback_message("PostgreSQL", requested, problem, where))
    server_url = start_embedded(sup, EmbeddedPostgres(where, remembered_port(var, "postgres")), env)
    ensure_database(server_url, DB_NAME)
    return with_database(server_url, DB_NAME), True


def resolve_redis(sup: Supervisor, env: dict[str, str], var: Path) -> tuple[str, bool]:
    requested = env.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    problem = redis_problem(requested)
    if problem is None:
        return requested, False
    if not embedded_allowed():
        raise ServiceUnavailable(refusal_message("Redis", requested, problem, "REDIS_URL"))
    where = var / "redis"
    sup.say("run", fallback_message("Redis", requested, problem, where))
    return start_embedded(sup, EmbeddedRedis(where, remembered_port(var, "redis")), env), True


def procfile_programs(env: dict[str, str], path: Path = ROOT / "Procfile") -> list[Program]:
    """The Procfile's `name: command` lines, ${VAR} expanded from ``env``."""
    from string import Template

    programs = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, command = line.split(":", 1)
        argv = shlex.split(Template(command.strip()).substitute(env))
        argv[0] = which(argv[0])
        programs.append(Program(name.strip(), argv, env=env, cwd=str(ROOT)))
    return programs


# The processes whose /metrics adds up several processes: gunicorn's workers (api,
# stream) and the Celery pool's children (worker).
MULTIPROCESS_METRICS = ("api", "stream", "worker")


def with_metrics_dir(program: Program, var: Path) -> Program:
    """``program`` with an empty ``PROMETHEUS_MULTIPROC_DIR`` of its own under var/metrics/."""
    if program.name not in MULTIPROCESS_METRICS:
        return program
    from app.observability.multiproc import VARIABLE, fresh_dir

    where = fresh_dir(var / "metrics" / program.name)
    return replace(program, env={**(program.env or {}), VARIABLE: str(where)})


DOTENV_KEYS = (
    "BILLING_ENV",
    "BILLING_DEV_ENDPOINTS",
    "DATABASE_URL",
    "REDIS_URL",
    "KASPI_BASE_URL",
    "KASPI_API_KEY",
    "AUTH_JWT_SECRET",
    "FISCAL_BASE_URL",
    "FISCAL_LOGIN",
    "FISCAL_PASSWORD",
    "FISCAL_CASHBOX",
)


def write_dotenv(env: dict[str, str], var: Path) -> list[Path]:
    """The settings in force, for a second terminal: `flask` loads `.env` (python-dotenv).

    Always ``var/dev.env``; also the checkout's ``.env`` when ``var`` is the checkout's
    own and that ``.env`` is absent or one we wrote (a hand-written one is left alone).
    """
    lines = [
        f"{DOTENV_MARKER} at {time.strftime('%Y-%m-%d %H:%M:%S')}: the settings in force.",
        "# `flask --app wsgi ...` loads this file; exported variables still win.",
    ]
    lines += [f"{key}={env[key]}" for key in DOTENV_KEYS if env.get(key)]
    lines.append(f"API_URL=http://127.0.0.1:{env['API_PORT']}")
    text = "\n".join(lines) + "\n"
    written = [var / "dev.env"]
    (var / "dev.env").write_text(text)
    dotenv = ROOT / ".env"
    ours = not dotenv.exists() or dotenv.read_text().startswith(DOTENV_MARKER)
    if var == (ROOT / "var").resolve() and ours:
        dotenv.write_text(text)
        written.append(dotenv)
    return written


def api_answers(url: str) -> Callable[[], bool]:
    import urllib.request

    def check() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - http URL we built
                return response.status == 200
        except OSError:
            return False

    return check


def banner(
    env: dict[str, str], pg_embedded: bool, redis_embedded: bool, token: str, settings: str
) -> str:
    api = f"http://127.0.0.1:{env['API_PORT']}"
    return (
        "\n"
        f"  Web page    {api}/  (sign in as the demo user)\n"
        f"  API         {api}  (catalog: {api}/api/billing/products, health: {api}/healthz)\n"
        f"  API docs    {api}/docs  ({api}/openapi.json)\n"
        f"  Kaspi stub  {env['KASPI_BASE_URL']}\n"
        f"  Register    {env['FISCAL_BASE_URL']}  (fiscal receipts; the stub's receipts: "
        f"{env['FISCAL_BASE_URL']}/test/receipts)\n"
        f"  PostgreSQL  {redacted(env['DATABASE_URL'])}"
        f"{'  (embedded, under var/postgres)' if pg_embedded else ''}\n"
        f"  Redis       {env['REDIS_URL']}{'  (embedded)' if redis_embedded else ''}\n"
        f"  Settings    {settings}: `.venv/bin/flask --app wsgi billing list` works in "
        "another terminal\n"
        f"  Dev token   (user demo-user)\n  {token}\n\n"
        "  Ctrl-C stops everything; `make demo` buys a credit from the terminal.\n"
    )


def main() -> int:
    env = base_env()
    var = var_dir()
    try:
        var.mkdir(parents=True, exist_ok=True)
        check_not_running(var)
        check_ports(env)
    except Refused as exc:
        print(f"make run: {exc}", file=sys.stderr)
        return 1

    sup = Supervisor(state_file(var))
    sup.install_signal_handlers()
    sup.write_state()
    code = 0
    try:
        database_url, pg_embedded = resolve_postgres(sup, env, var)
        env["DATABASE_URL"] = database_url
        env["REDIS_URL"], redis_embedded = resolve_redis(sup, env, var)
        if sup.stop_requested:
            raise KeyboardInterrupt
        sup.say("run", "migrating the database (flask db upgrade)")
        migrate = subprocess.run(
            [which("flask"), "--app", "wsgi", "db", "upgrade"],
            # The settings in force are in env; an older .env must not fill gaps.
            env={**env, "FLASK_SKIP_DOTENV": "1"},
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if sup.stop_requested:
            raise KeyboardInterrupt
        if migrate.returncode != 0:
            raise RuntimeError("flask db upgrade failed:\n" + migrate.stdout + migrate.stderr)
        settings_files = write_dotenv(env, var)
        for program in procfile_programs(env):
            sup.start(with_metrics_dir(program, var))
        api = f"http://127.0.0.1:{env['API_PORT']}"
        sup.wait_until(api_answers(api + "/healthz"), 90, "the API to answer")
        from app.auth.tokens import issue_token

        token = issue_token(env["AUTH_JWT_SECRET"], "demo-user", 7 * 86400)
        settings = " and ".join(
            str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p) for p in settings_files
        )
        for line in banner(env, pg_embedded, redis_embedded, token, settings).splitlines():
            sup.say("run", line)
        sup.say("run", "serving")
        signum = sup.supervise()
        sup.say("run", f"{signal.Signals(signum).name}: stopping everything")
    except KeyboardInterrupt:
        sup.say("run", "stopping everything")
    except (ServiceUnavailable, RuntimeError, OSError, subprocess.SubprocessError) as exc:
        sup.say("run", f"error: {exc}")
        code = 1
    finally:
        sup.stop_all()
        sup.say("run", "stopped")
    return code


if __name__ == "__main__":
    sys.exit(main())
