"""Prometheus multiprocess mode for the processes ``make run`` and systemd start.

A gunicorn API with two workers has two registries; without
``PROMETHEUS_MULTIPROC_DIR`` ``/metrics`` shows whichever worker answered it.
With it, every worker writes its samples under the directory and ``/metrics``
adds them up (``metrics.process_registry``). The directory must be empty when the
server starts (samples of a previous run would be added in), and a worker that
exits is marked dead so its live gauges drop out.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def fresh_dir(where: Path) -> Path:
    """``where``, emptied: what the systemd units' ExecStartPre does, for ``make run``."""
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    return where


def mark_worker_dead(pid: int) -> None:
    """gunicorn's ``child_exit`` hook: a worker's live gauges leave the sums."""
    if os.environ.get(VARIABLE):
        from prometheus_client import multiprocess

        # Type-check exemption: prometheus_client's multiprocess helpers are unannotated.
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
