"""Prove a venv built from requirements.txt alone runs the whole stack and settles a payment.

`python3 scripts/runtime_smoke.py [VENV]` (CI runs it): builds VENV (default
/tmp/billing-runtime-venv) from the runtime requirements only, starts `make run`'s
entry point with it — API, worker, beat and Kaspi stub, on embedded PostgreSQL and
Redis in a temporary directory and on free ports, so nothing shared is touched —
runs `make demo`'s purchase against it, checks no process crashed, and stops it.
Standard library only: it runs under the system's python3.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ("kaspi", "api", "worker", "beat")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def say(message: str) -> None:
    print(f"runtime-smoke: {message}", flush=True)


def main(argv: list[str]) -> int:
    started = time.monotonic()
    venv = Path(argv[0]) if argv else Path(tempfile.gettempdir()) / "billing-runtime-venv"
    subprocess.check_call(
        [sys.executable, str(ROOT / "scripts" / "bootstrap.py"), str(venv), "requirements.txt"],
        cwd=ROOT,
    )
    python = str(venv / "bin" / "python")
    if subprocess.call([python, "-c", "import pytest"], stderr=subprocess.DEVNULL) == 0:
        say(f"{venv} has pytest: it is not a runtime-only venv")
        return 1
    say(f"runtime venv ready in {time.monotonic() - started:.0f}s")

    root = Path(tempfile.mkdtemp(prefix="billing-runtime-smoke-"))
    root.chmod(0o755)  # the embedded PostgreSQL's own user must reach its data dir
    var = root / "var"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BILLING_", "DATABASE_", "REDIS_", "KASPI_", "AUTH_"))
    }
    env.update(
        BILLING_VAR_DIR=str(var),
        API_PORT=str(free_port()),
        KASPI_PORT=str(free_port()),
        DATABASE_URL=f"postgresql://postgres@127.0.0.1:{free_port()}/billing",
        REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
    )
    log_path = root / "run.log"
    with open(log_path, "wb") as log:
        run = subprocess.Popen(
            [python, "-m", "scripts.run"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    ok = False
    try:
        deadline = time.monotonic() + 180
        while "| serving" not in log_path.read_text(errors="replace"):
            if run.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("make run did not serve")
            time.sleep(0.2)
        say(f"serving after {time.monotonic() - started:.0f}s")
        demo = subprocess.run(
            [python, "-m", "scripts.demo"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        print(demo.stdout, demo.stderr, flush=True)
        output = log_path.read_text(errors="replace")
        crashed = [line for line in output.splitlines() if "exited with code" in line]
        missing = [p for p in PROGRAMS if f" {p} " not in output.replace("|", " ")]
        worker_ready = "celery@" in output and " ready." in output
        beat_ready = "beat: Starting" in output
        ok = (
            demo.returncode == 0
            and "status: completed" in demo.stdout
            and not crashed
            and not missing
            and worker_ready
            and beat_ready
        )
        if not ok:
            say(
                f"FAILED: demo exit {demo.returncode}, crashed {crashed}, silent {missing}, "
                f"worker ready {worker_ready}, beat ready {beat_ready}"
            )
    except RuntimeError as exc:
        say(f"FAILED: {exc}")
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGTERM)
            try:
                run.wait(90)
            except subprocess.TimeoutExpired:
                os.killpg(run.pid, signal.SIGKILL)
        if not ok:
            print(log_path.read_text(errors="replace")[-6000:], flush=True)
        shutil.rmtree(root, ignore_errors=True)
    stopped_cleanly = run.returncode == 0
    say(
        f"{'passed' if ok and stopped_cleanly else 'FAILED'}: runtime-only venv served, settled "
        f"a payment and stopped (exit {run.returncode}) in {time.monotonic() - started:.0f}s"
    )
    return 0 if ok and stopped_cleanly else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
