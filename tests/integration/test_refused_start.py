"""A refusal to start stops the server: gunicorn's master exits with its boot-error
code (3) instead of forking the refusing worker again and again, Celery exits with
EX_CONFIG (78), and the systemd units do not restart either (tests/unit/test_systemd_units.py)."""

from __future__ import annotations

import os
import subprocess

import pytest

from app.refusal import EX_CONFIG, GUNICORN_BOOT_ERROR
from tests.support.processes import bin_path, free_port
from tests.support.stream_server import stream_argv

pytestmark = pytest.mark.integration

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REFUSAL = "error: refusing to start in production"


def production_defaults() -> dict[str, str]:
    """The environment of a production host whose settings file was never filled in."""
    env = {k: v for k, v in os.environ.items() if k not in ("AUTH_JWT_SECRET", "KASPI_API_KEY")}
    env["BILLING_ENV"] = "production"
    env["FLASK_SKIP_DOTENV"] = "1"
    return env


def run(argv: list[str], timeout: float = 40) -> subprocess.CompletedProcess[str]:
    # The timeout is the test's failure: a master that keeps forking never returns.
    return subprocess.run(
        argv,
        env=production_defaults(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_gunicorn_with_the_default_secret_exits_with_its_boot_error_code():
    argv = [bin_path("gunicorn"), "--no-control-socket", "--workers", "2"]
    done = run([*argv, "--bind", f"127.0.0.1:{free_port()}", "wsgi:app"])
    assert done.returncode == GUNICORN_BOOT_ERROR, done.stderr[-2000:]
    # Each worker forked before the master gave up says it once: no restart loop.
    assert 1 <= done.stderr.count(REFUSAL) <= 2, done.stderr[-2000:]
    assert "Worker failed to boot" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_stream_process_refuses_the_same_way():
    done = run(stream_argv(free_port()))
    assert done.returncode == GUNICORN_BOOT_ERROR, done.stderr[-2000:]
    assert done.stderr.count(REFUSAL) == 1, done.stderr[-2000:]


@pytest.mark.parametrize("command", ["worker", "beat"])
def test_celery_refuses_in_one_line_with_ex_config(command, tmp_path):
    argv = [bin_path("celery"), "-A", "workers", command]
    if command == "beat":
        argv += ["--schedule", str(tmp_path / "schedule")]
    done = run(argv)
    assert done.returncode == EX_CONFIG, done.stderr[-2000:]
    assert done.stderr.count(REFUSAL) == 1
    assert "Traceback" not in done.stderr


def test_flask_commands_still_exit_with_1():
    done = run([bin_path("flask"), "--app", "wsgi", "billing", "--help"])
    assert done.returncode == 1, done.stderr[-2000:]
    assert done.stderr.count(REFUSAL) == 1
