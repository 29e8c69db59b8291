"""Entry point: `python -m benchmarks.run` (`make bench`).

Sets up a throwaway stack, runs the settle-throughput and status-poll
benchmarks, prints a summary table, and tears everything down, also on
Ctrl-C, SIGTERM or an error.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from contextlib import ExitStack
from types import FrameType

from benchmarks import seed, settle_bench, stack, status_bench
from benchmarks.load import LoadSettings, choose_generator
from benchmarks.report import Row, print_table, say

USERS = 20  # buyers; transactions are spread over them round-robin


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--settle", type=int, default=1000, help="tx settled by the worker")
    parser.add_argument("--baseline", type=int, default=1000, help="tx settled in-process")
    parser.add_argument("--load", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--requests", type=int, default=5000, help="per endpoint (python load)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per endpoint (wrk)")
    parser.add_argument("--skip-settle", action="store_true")
    parser.add_argument("--skip-status", action="store_true")
    return parser.parse_args(argv)


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _terminate(signum: int, _frame: FrameType | None) -> None:
    # Turned into SystemExit so the ExitStack stops every child and drops the database.
    raise SystemExit(128 + signum)


def _benchmarks(args: argparse.Namespace, cleanup: ExitStack) -> list[Row]:
    say(
        f"billing benchmarks: {os.cpu_count()} CPU cores, python {sys.version.split()[0]}, "
        f"load average {_load()} (other work on the machine skews every number)"
    )
    started = time.perf_counter()
    world = stack.open_stack(cleanup)
    say(f"  database {stack.BENCH_DB} migrated, Redis {world.redis_url}, stub {world.kaspi_url}")
    users = seed.user_ids(USERS)
    seed.insert_users(world.app, users)
    rows: list[Row] = []

    if not args.skip_settle:
        say("\n[1] settle throughput")
        owners = [users[n % USERS] for n in range(args.settle + args.baseline)]
        baseline = settle_bench.prepare_paid(world, owners[: args.baseline])
        worker = settle_bench.prepare_paid(world, owners[args.baseline :])
        rows += settle_bench.run(world, worker, baseline, stack.KASPI_KEY)

    if not args.skip_status:
        say("\n[2] status-poll requests/s")
        generator = choose_generator(args.load)
        settings = LoadSettings(
            connections=args.connections, requests=args.requests, duration_s=args.duration
        )
        rows += status_bench.run(world, users[0], generator, settings)

    say(
        f"\ntotal benchmark time {time.perf_counter() - started:.0f}s (setup included), "
        f"load average now {_load()}"
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _terminate)
    cleanup = ExitStack()
    try:
        rows = _benchmarks(args, cleanup)
    except KeyboardInterrupt:
        say("\ninterrupted: stopping processes, dropping the benchmark database")
        return 130
    finally:
        # A second Ctrl-C must not cut the teardown short and leave processes behind.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        cleanup.close()
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
