"""Where the time goes: py-spy samples of the API under the status poll, or of the
Celery worker settling a batch of paid intents.

`python -m benchmarks.profile status|intent|bare-intent|settle [--seconds N] [--gil]`
prints the functions with the largest share of samples (inclusive: a function and what it
calls), grouped by the layer they belong to, and keeps the raw collapsed
stacks in var/bench/profile-<target>.txt (flamegraph.pl reads them).
py-spy is a dev requirement; it needs ptrace permission (root, or
kernel.yama.ptrace_scope=0).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

from app.auth.tokens import issue_token
from benchmarks import seed, servers, settle_bench, stack
from benchmarks.load import LoadSettings, run_load, warm_up
from benchmarks.report import say
from benchmarks.results import LATEST
from benchmarks.status_bench import BARE_APP, INTENT_BODY

# Frames are bucketed by the first of these that their file path contains.
LAYERS = (
    ("app/", "service code (app/)"),
    ("sqlalchemy/orm", "SQLAlchemy ORM"),
    ("sqlalchemy/", "SQLAlchemy core/pool"),
    ("psycopg", "psycopg (driver, network wait)"),
    ("pydantic", "pydantic"),
    ("flask/", "Flask"),
    ("werkzeug", "Werkzeug"),
    ("gunicorn", "gunicorn"),
    ("jwt", "PyJWT"),
    ("celery", "Celery"),
    ("kombu", "kombu (broker)"),
    ("requests", "requests/urllib3 (Kaspi calls)"),
    ("urllib3", "requests/urllib3 (Kaspi calls)"),
    ("json", "json"),
)


def _py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        raise SystemExit("py-spy is not installed: pip install -r requirements-dev.txt")
    return found


def record(
    pid: int, seconds: int, out: Path, idle: bool = False, gil: bool = False
) -> subprocess.Popen:
    """On-CPU samples by default; ``idle`` adds threads waiting (on PostgreSQL, Kaspi);
    ``gil`` keeps only the thread holding the interpreter lock: the Python CPU itself.
    (py-spy does not always see a thread waiting inside psycopg or urllib3 as idle;
    the lock's holder never waits.)"""
    argv = [
        _py_spy(),
        "record",
        "--pid",
        str(pid),
        "--subprocesses",
        *(["--idle"] if idle else []),
        *(["--gil"] if gil else []),
        "--format",
        "raw",
        "--rate",
        "200",
        "--duration",
        str(seconds),
        "--output",
        str(out),
    ]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _function(frame: str) -> str:
    """``name (path:line)`` -> ``name (path)``: a function's samples, whatever the line."""
    return re.sub(r":\d+\)$", ")", frame)


def summarize(collapsed: Path, top: int = 25) -> dict:
    inclusive: Counter = Counter()
    layers: Counter = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack_text, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack_text.split(";")
        # Skip idle workers waiting for a request or a message.
        leaf = frames[-1]
        idle = any(word in leaf for word in ("select (selectors", "wait (threading", "sleep"))
        if idle and not any("app/" in frame for frame in frames):
            continue
        total += count
        for frame in {_function(frame) for frame in frames}:
            inclusive[frame] += count
        for marker, layer in LAYERS:
            if marker in leaf:
                layers[layer] += count
                break
        else:
            layers["other (interpreter, stdlib)"] += count
    share = {name: round(100 * n / total, 1) for name, n in layers.most_common()}
    ours = [
        (frame, round(100 * n / total, 1))
        for frame, n in inclusive.most_common()
        if "app/" in frame or "benchmarks/" in frame
    ][:top]
    return {"samples": total, "leaf_layer_percent": share, "app_inclusive_percent": ours}


def _status_like(world: stack.Stack, target: str, seconds: int, out: Path, gil: bool) -> None:
    user = seed.user_ids(1)[0]
    headers = {"Authorization": f"Bearer {issue_token(stack.JWT_SECRET, user, 3600)}"}
    app_spec = "wsgi:app"
    if target == "status":
        ids = seed.insert_pending(world.app, [user] * 50)
        paths = [f"/api/billing/transactions/status?transaction_id={i}" for i in ids]
        settings = LoadSettings(connections=16, duration_s=seconds)
    else:
        headers["Content-Type"] = "application/json"
        paths = ["/api/billing/purchase-intent"]
        if target == "bare-intent":  # the intent's baseline, for a side-by-side profile
            app_spec, paths = BARE_APP, ["/intent"]
        settings = LoadSettings(connections=16, duration_s=seconds, method="POST", body=INTENT_BODY)
    with ExitStack() as procs:
        base, pid = servers.start_gunicorn(procs, "profile-api", app_spec, world.env, 4)
        warm_up(base, paths, headers, settings=settings)
        spy = record(pid, seconds, out, gil=gil)
        time.sleep(1)
        run_load(
            "wrk" if shutil.which("wrk") else "python",
            base,
            paths,
            headers,
            settings,
            world.workdir,
        )
        spy.wait(seconds + 30)


def _settle(world: stack.Stack, seconds: int, count: int, out: Path, gil: bool) -> None:
    users = seed.user_ids(1)
    batch = settle_bench.prepare_paid(world, [users[0]] * count)
    with ExitStack() as procs:
        worker = servers.start_worker(procs, world.env, "profile-worker")
        servers.start_beat(procs, world.env, world.workdir)
        time.sleep(5)
        spy = record(worker, seconds, out, gil=gil)
        time.sleep(1)
        seed.make_due(world.app, batch.ids)
        spy.wait(seconds + 30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__)
    parser.add_argument("target", choices=["status", "intent", "bare-intent", "settle"])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument(
        "--gil", action="store_true", help="only the thread holding the interpreter lock"
    )
    parser.add_argument("--count", type=int, default=400, help="settle: paid intents")
    args = parser.parse_args(argv)
    out = LATEST.parent / f"profile-{args.target}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    with ExitStack() as cleanup:
        world = stack.open_stack(cleanup)
        seed.insert_users(world.app, seed.user_ids(1))
        if args.target == "settle":
            _settle(world, args.seconds, args.count, out, args.gil)
        else:
            _status_like(world, args.target, args.seconds, out, args.gil)
    summary = summarize(out)
    say(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
