"""CPU seconds spent by a process tree (a gunicorn master and its workers)."""

from __future__ import annotations

import psutil


def tree_cpu_s(pid: int) -> float:
    """User + system CPU of ``pid`` and its live children, in seconds."""
    total = 0.0
    root = psutil.Process(pid)
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total
