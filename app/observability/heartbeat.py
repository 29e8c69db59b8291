"""Worker liveness for a supervisor: a heartbeat file and the check that reads it.

A consumer bootstep touches ``WORKER_HEARTBEAT_FILE`` every
``WORKER_HEARTBEAT_INTERVAL_S`` from the worker's own event loop timer, so the
file goes stale when the worker process dies, hangs, or stops consuming (while
it reconnects to a lost broker, too). A supervisor runs::

    python -m app.observability.heartbeat /run/billing/worker-1.heartbeat --max-age 60

which exits 0 while the file is fresh and 1 otherwise (missing or older than
``--max-age`` seconds). Choose ``--max-age`` above the longest broker outage you
want to ride out without a restart; a restart during one is harmless (the
worker retries the broker forever either way).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from celery import bootsteps

log = logging.getLogger(__name__)


def touch(path: str | Path) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
    tmp.write_text(f"{time.time():.3f} {os.getpid()}\n")
    os.replace(tmp, target)


def age(path: str | Path) -> float | None:
    try:
        return time.time() - Path(path).stat().st_mtime
    except FileNotFoundError:
        return None


# Where and how often this process's worker writes its heartbeat (set by
# ``celery_hooks.install`` before the consumer starts).
_settings: dict[str, Any] = {"path": "", "interval_s": 10.0}


def configure(path: str, interval_s: float) -> None:
    _settings.update(path=path, interval_s=interval_s)


# Type-check exemption: celery is untyped, so the base class is Any.
class HeartbeatStep(bootsteps.StartStopStep):  # type: ignore[misc]
    """Runs with the consumer: started when it connects, stopped when it loses the broker."""

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.tref: Any = None
        self.path = ""

    def start(self, parent: Any) -> None:
        self.path = _settings["path"]
        interval = float(_settings["interval_s"])
        self._beat()
        self.tref = parent.timer.call_repeatedly(interval, self._beat, priority=10)

    def stop(self, parent: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None

    def _beat(self) -> None:
        try:
            touch(self.path)
        except OSError as exc:
            log.warning("could not write the heartbeat file %s: %s", self.path, exc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Exit 0 while the worker's heartbeat is fresh.")
    parser.add_argument("path", help="the worker's WORKER_HEARTBEAT_FILE")
    parser.add_argument("--max-age", type=float, default=60.0, help="seconds (default 60)")
    args = parser.parse_args(argv)
    seconds = age(args.path)
    if seconds is None:
        print(f"worker not alive: no heartbeat file {args.path}", file=sys.stderr)
        return 1
    if seconds > args.max_age:
        print(f"worker not alive: heartbeat {seconds:.0f}s old", file=sys.stderr)
        return 1
    print(f"worker alive: heartbeat {seconds:.1f}s old")
    return 0


if __name__ == "__main__":
    sys.exit(main())
