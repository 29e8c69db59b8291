"""A PgBouncer of the test's own (Debian's ``pgbouncer`` package), in transaction mode,
in front of the test database's PostgreSQL, on a free port.

The machine may run a PgBouncer of its own: this one has its own port, its own
configuration under the test's temporary directory, and is stopped at the end.
PgBouncer refuses to run as root; run as root, it is told to switch to ``nobody``.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.support.processes import Process, free_port, wait_until

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def available() -> bool:
    return os.access(PGBOUNCER, os.X_OK)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class PgBouncer:
    """``pool_mode = transaction``; ``server_pool_size`` server connections per database/user,
    so that many clients share few server connections as in production."""

    def __init__(self, where: Path, database_url: str, server_pool_size: int = 2) -> None:
        self.where = where
        self.target = make_url(database_url)
        self.server_pool_size = server_pool_size
        self.port = free_port()
        self.proc: Process | None = None

    def url(self) -> str:
        """The test database's URL through this PgBouncer."""
        return self.target.set(host="127.0.0.1", port=self.port).render_as_string(
            hide_password=False
        )

    def write_config(self) -> Path:
        self.where.mkdir(parents=True, exist_ok=True)
        users = self.where / "users.txt"
        user = self.target.username or "postgres"
        users.write_text(f'"{user}" ""\n')
        ini = self.where / "pgbouncer.ini"
        ini.write_text(
            "[databases]\n"
            f"* = host={self.target.host or '127.0.0.1'} port={self.target.port or 5432}\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {self.port}\n"
            "auth_type = trust\n"
            f"auth_file = {users}\n"
            "pool_mode = transaction\n"
            "unix_socket_dir =\n"
            f"default_pool_size = {self.server_pool_size}\n"
            "max_client_conn = 500\n"
            # The server settings psycopg and SQLAlchemy send at connect.
            "ignore_startup_parameters = extra_float_digits,options\n"
        )
        for path in (self.where, users, ini):
            path.chmod(0o755 if path.is_dir() else 0o644)
        return ini

    def start(self) -> PgBouncer:
        ini = self.write_config()
        argv = [PGBOUNCER, *(["-u", "nobody"] if os.geteuid() == 0 else []), str(ini)]
        self.proc = Process(f"pgbouncer-{self.port}", argv, dict(os.environ)).start()
        wait_until(
            lambda: _accepts(self.port) or not self.proc.alive(),
            timeout=20,
            message="pgbouncer to listen",
        )
        if not self.proc.alive():
            raise RuntimeError(f"pgbouncer did not start:\n{self.proc.tail()}")
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()

    def restart(self) -> PgBouncer:
        """SIGTERM (PgBouncer's immediate shutdown: every client connection is cut), then
        started again on the same port."""
        self.stop()
        return self.start()
