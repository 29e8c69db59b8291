"""The one JSON object a run writes to var/bench/latest.json (and prints).

Each benchmark answers a section: a flat dict of keys to numbers or strings.
The writer merges the sections into one object (keys are unique across
sections, e.g. ``settle_*``, ``status_*``), adds ``meta`` (load generator,
machine, quick mode), and keeps ``sections`` naming which keys each one gave.
A new benchmark is a new entry in ``benchmarks.run.SECTIONS``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

LATEST = Path(__file__).resolve().parents[1] / "var" / "bench" / "latest.json"


class Results:
    def __init__(self, meta: dict[str, Any]) -> None:
        self.meta = {
            "cores": os.cpu_count(),
            "python": sys.version.split()[0],
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            **meta,
        }
        self.sections: dict[str, dict[str, Any]] = {}

    def add(self, section: str, values: dict[str, Any]) -> None:
        clash = {key for other in self.sections.values() for key in other} & set(values)
        if clash:
            raise ValueError(f"section {section} repeats keys {sorted(clash)}")
        self.sections[section] = values

    def as_json(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for values in self.sections.values():
            merged.update({key: _plain(value) for key, value in values.items()})
        return {
            **merged,
            "meta": self.meta,
            "sections": {name: sorted(values) for name, values in self.sections.items()},
        }

    def write(self, path: Path = LATEST) -> str:
        text = json.dumps(self.as_json(), indent=2, sort_keys=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
        return text


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return None if value != value else round(value, 3)  # NaN is not JSON
    return value
