"""`make run`: find or start PostgreSQL and Redis, migrate, then run every process.

API, Celery worker, Celery beat and the Kaspi stub run under honcho in the
foreground; one Ctrl-C stops them all (and the embedded servers, if started).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from scripts.localservices import (
    ROOT,
    database_name,
    ensure_database,
    ensure_services,
    which,
    with_database,
)

DB_NAME = "billing"


def main() -> int:
    env = dict(os.environ)
    env.setdefault("BILLING_ENV", "development")
    env.setdefault("BILLING_DEV_ENDPOINTS", "1")
    env.setdefault("API_PORT", "8000")
    env.setdefault("KASPI_PORT", "8090")
    requested = env.get("DATABASE_URL", f"postgresql://postgres@127.0.0.1:5432/{DB_NAME}")
    services = ensure_services(
        with_database(requested, "postgres"), env.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    name = DB_NAME if "postgres" in services.embedded else database_name(requested)
    ensure_database(services.postgres_server_url, name)
    env["DATABASE_URL"] = services.database_url(name)
    env["REDIS_URL"] = services.redis_url
    env.setdefault("KASPI_BASE_URL", f"http://127.0.0.1:{env['KASPI_PORT']}")
    env.setdefault("KASPI_STUB_PUBLIC_URL", env["KASPI_BASE_URL"])
    env.setdefault("KASPI_STUB_DB", str(ROOT / "var" / "kaspi_stub.sqlite3"))
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    (ROOT / "var").mkdir(exist_ok=True)

    flask = [which("flask"), "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], env=env, cwd=ROOT, check=True)
    token = subprocess.run(
        [*flask, "auth", "token", "demo-user"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    api = f"http://127.0.0.1:{env['API_PORT']}"
    print(
        "\n"
        f"  Web page    {api}/  (sign in as the demo user)\n"
        f"  API         {api}  (catalog: {api}/api/billing/products)\n"
        f"  API docs    {api}/docs  ({api}/openapi.json)\n"
        f"  Kaspi stub  {env['KASPI_BASE_URL']}\n"
        f"  PostgreSQL  {env['DATABASE_URL']}"
        f"{'  (embedded, under var/)' if 'postgres' in services.embedded else ''}\n"
        f"  Redis       {env['REDIS_URL']}"
        f"{'  (embedded)' if 'redis' in services.embedded else ''}\n"
        f"  Dev token   (user demo-user)\n  {token}\n",
        flush=True,
    )
    try:
        return subprocess.call([which("honcho"), "start", "-f", "Procfile"], env=env, cwd=ROOT)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
