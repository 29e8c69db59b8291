"""Entry point: `python -m benchmarks.run` (`make bench`, `make bench QUICK=1`).

Sets up a throwaway stack, runs each benchmark section against its baseline in
the same run, writes one JSON object to var/bench/latest.json (and prints it),
and tears everything down, also on Ctrl-C, SIGTERM or an error.

A section is a function ``(ctx) -> dict`` registered in ``SECTIONS``; its keys
join the one JSON object (see benchmarks/results.py).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from types import FrameType

from benchmarks import (
    cluster_bench,
    plans,
    publish_bench,
    push_bench,
    seed,
    settle_bench,
    stack,
    status_bench,
    webhook_bench,
)
from benchmarks.load import LoadSettings, choose_generator
from benchmarks.report import say
from benchmarks.results import Results

USERS = 20  # buyers; transactions are spread over them round-robin


@dataclass(frozen=True)
class Context:
    args: argparse.Namespace
    world: stack.Stack
    users: list[str]
    generator: str
    load: LoadSettings


def _settle(ctx: Context) -> dict:
    return settle_bench.run(ctx.world, ctx.args.settle, ctx.args.floor, ctx.users, stack.KASPI_KEY)


def _status(ctx: Context) -> dict:
    return status_bench.run_status(ctx.world, ctx.users[0], ctx.generator, ctx.load)


def _intent(ctx: Context) -> dict:
    return status_bench.run_intent(ctx.world, ctx.users[1], ctx.generator, ctx.load)


def _publish(ctx: Context) -> dict:
    return publish_bench.run(ctx.world, ctx.args.race_rounds)


def _plans(ctx: Context) -> dict:
    return plans.run(ctx.world, ctx.args.plan_rows)


def _push(ctx: Context) -> dict:
    # A full run holds the 10,000 streams one stream process is planned for
    # (docs/OPERATIONS.md); a quick one 300, which still gives the per-stream memory.
    streams = 300 if ctx.args.quick else 10_000
    return push_bench.run(ctx.world, streams=streams, notify_samples=min(200, streams))


def _webhooks(ctx: Context) -> dict:
    return webhook_bench.run(
        ctx.world, 200 if ctx.args.quick else 500, 2000 if ctx.args.quick else 5000
    )


def _cluster(ctx: Context) -> dict:
    quick = ctx.args.quick
    return cluster_bench.run(ctx.world, ctx.users, 300 if quick else 1500, 400 if quick else 1000)


# name -> (title, benchmark). Another benchmark adds its entry here.
SECTIONS: dict[str, tuple[str, Callable[[Context], dict]]] = {
    "settle": ("settle throughput against the raw-SQL floor", _settle),
    "status": ("status poll against the bare stack", _status),
    "intent": ("purchase intent against the bare INSERT + stub call", _intent),
    "publish_race": ("40-way publish race by one owner", _publish),
    "plans": ("sweep query plans at a large table", _plans),
    "push": ("push status: open streams, notice latency, requests per purchase", _push),
    "webhooks": ("webhook delivery: COMMIT to receiver, events per second", _webhooks),
    "cluster": ("settle throughput with two worker hosts against one", _cluster),
}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs: under 5 minutes")
    parser.add_argument("--settle", type=int, help="tx settled by the worker")
    parser.add_argument("--floor", type=int, help="tx settled by raw SQL")
    parser.add_argument("--load", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--requests", type=int, help="per endpoint (python load)")
    parser.add_argument("--duration", type=int, help="seconds per endpoint (wrk)")
    parser.add_argument("--race-rounds", type=int)
    parser.add_argument("--plan-rows", type=int, help="rows seeded for the EXPLAIN step")
    parser.add_argument(
        "--only", action="append", choices=list(SECTIONS), help="run only these sections"
    )
    args = parser.parse_args(argv)
    quick = args.quick or os.environ.get("QUICK") not in (None, "", "0")
    # The settle figure counts from the moment the rows come due, so it includes the
    # wait for beat's next sweep (about 0.3 s): a backlog of 3,000 keeps that to a
    # tenth of the figure (at 1,500 it was a fifth).
    defaults = (
        {"settle": 3000, "floor": 3000, "requests": 3000, "duration": 12, "race_rounds": 3}
        if quick
        else {"settle": 6000, "floor": 6000, "requests": 8000, "duration": 16, "race_rounds": 5}
    )
    defaults["plan_rows"] = 1_000_000
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.quick = quick
    return args


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _terminate(signum: int, _frame: FrameType | None) -> None:
    # Turned into SystemExit so the ExitStack stops every child and drops the database.
    raise SystemExit(128 + signum)


def _benchmarks(args: argparse.Namespace, cleanup: ExitStack) -> Results:
    generator = choose_generator(args.load)
    say(
        f"billing benchmarks{' (quick)' if args.quick else ''}: {os.cpu_count()} CPU cores, "
        f"python {sys.version.split()[0]}, load generator {generator}, "
        f"load average {_load()} (other work on the machine skews every number)"
    )
    results = Results(
        {"load_generator": generator, "quick": args.quick, "load_average_before": _load()}
    )
    started = time.perf_counter()
    world = stack.open_stack(cleanup)
    say(f"  database {stack.BENCH_DB} migrated, Redis {world.redis_url}, stub {world.kaspi_url}")
    users = seed.user_ids(USERS)
    seed.insert_users(world.app, users)
    ctx = Context(
        args,
        world,
        users,
        generator,
        LoadSettings(
            connections=args.connections, requests=args.requests, duration_s=args.duration
        ),
    )
    for n, (name, (title, bench)) in enumerate(SECTIONS.items(), 1):
        if args.only and name not in args.only:
            continue
        say(f"\n[{n}] {title}")
        section_started = time.perf_counter()
        results.add(name, bench(ctx))
        say(f"  ({time.perf_counter() - section_started:.0f}s)")
    results.meta["seconds"] = round(time.perf_counter() - started)
    results.meta["load_average_after"] = _load()
    say(f"\ntotal benchmark time {results.meta['seconds']}s, load average now {_load()}")
    return results


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _terminate)
    cleanup = ExitStack()
    try:
        results = _benchmarks(args, cleanup)
    except KeyboardInterrupt:
        say("\ninterrupted: stopping processes, dropping the benchmark database")
        return 130
    finally:
        # A second Ctrl-C must not cut the teardown short and leave processes behind.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        cleanup.close()
    say("")
    say(results.write())
    return 0


if __name__ == "__main__":
    sys.exit(main())
