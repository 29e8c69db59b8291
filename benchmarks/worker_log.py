"""What the Celery worker did, read from its INFO log: check tasks by outcome.

The log file is appended to across runs, so a run reads from the offset the
file had before its worker started.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import LOG_DIR

CHECK_DONE = re.compile(
    r"Task billing\.(check_transaction|check_batch)\[[^\]]+\] succeeded in ([0-9.eE-]+)s: "
    r"(?:'([a-z_]+)'|(\{[^}]*\}))"
)


@dataclass(frozen=True)
class CheckTasks:
    outcomes: Counter  # answers per transaction: completed, unchanged, not_pending...
    mean_s: float  # time inside a task, as Celery measured it

    @property
    def total(self) -> int:
        return sum(self.outcomes.values())


def log_path(name: str) -> Path:
    return LOG_DIR / f"{name}.log"


def size_of(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def check_tasks(path: Path, offset: int) -> CheckTasks:
    with path.open("rb") as log:
        log.seek(offset)
        text = log.read().decode(errors="replace")
    outcomes: Counter = Counter()
    seconds = 0.0
    for match in CHECK_DONE.finditer(text):
        seconds += float(match.group(2))
        if match.group(3):  # one check: its outcome
            outcomes[match.group(3)] += 1
        else:  # a batch: {'completed': 25, ...}
            for name, count in re.findall(r"'([a-z_]+)': (\d+)", match.group(4)):
                outcomes[name] += int(count)
    tasks = len(CHECK_DONE.findall(text))
    return CheckTasks(outcomes, seconds / tasks if tasks else float("nan"))
